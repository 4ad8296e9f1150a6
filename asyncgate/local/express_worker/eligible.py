"""Which Express executions the worker process may run: those that only call Lambda functions it has.

The worker holds no service but Lambda: no in-process moto (a queue there would be a second queue),
no child executions, no task tokens. So a revision is eligible when every Task in it, at any depth
(Parallel branches, inline Map iterations), invokes a Lambda function named in the definition itself —
a function ARN as ``Resource``, or ``arn:aws:states:::lambda:invoke`` with a literal ``FunctionName``
— and everything else runs in the server as before. Decided once per revision, from its JSON.

Example:
    >>> lambda_functions('{"StartAt":"T","States":{"T":{"Type":"Task","End":true,'
    ...     '"Resource":"arn:aws:states:::lambda:invoke",'
    ...     '"Parameters":{"FunctionName":"f","Payload.$":"$"}}}}')
    frozenset({'f'})
    >>> lambda_functions('{"StartAt":"T","States":{"T":{"Type":"Task","End":true,'
    ...     '"Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{}}}}') is None
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..lambdas.parameters import parse_function_ref
from ..states.tasks import lambda_target, resource_kind

__all__ = ["lambda_functions"]


def lambda_functions(definition: str) -> frozenset[str] | None:
    """The names of the functions a definition invokes, or None if it does anything else."""
    try:
        doc = json.loads(definition)
        names = {_function(state) for state in _states(doc) if state.get("Type") == "Task"}
    except (ValueError, TypeError, AttributeError):
        return None
    if None in names:
        return None
    return frozenset(name for name in names if name is not None)


def _states(machine: Any) -> Iterator[dict[str, Any]]:
    for state in (machine.get("States") or {}).values():
        yield state
        for branch in state.get("Branches") or []:
            yield from _states(branch)
        if "ItemReader" in state or "ResultWriter" in state:  # a distributed Map: not here
            yield {"Type": "Task"}
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), dict):
                yield from _states(state[key])


def _function(state: dict[str, Any]) -> str | None:
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return None
    kind = resource_kind(resource)
    if kind == "lambda-function":
        target = lambda_target(resource)
    elif kind == "lambda:invoke":
        args = state.get("Parameters") or state.get("Arguments") or {}
        named = args.get("FunctionName") if isinstance(args, dict) else None
        if not isinstance(named, str) or named.startswith("{%"):
            return None
        target = named
    else:
        return None
    try:
        name, qualifier = parse_function_ref(target)
    except Exception:
        return None
    return name if qualifier in (None, "$LATEST") else None
