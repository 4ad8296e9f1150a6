"""History events as GetExecutionHistory names and shapes them.

The engine calls ``recorder.event(type, details)`` with AWS's ``type`` (``PassStateEntered``,
``LambdaFunctionScheduled``...) and the *inner* details dict; ``details_key(type)`` tells the service
which HistoryEvent member holds it (``stateEnteredEventDetails``...). Payload values (``input``,
``output``, ``parameters``) are JSON text, as on the wire, written compactly as AWS writes them.

Example:
    >>> details_key("PassStateEntered"), details_key("LambdaFunctionSucceeded")
    ('stateEnteredEventDetails', 'lambdaFunctionSucceededEventDetails')
    >>> entered("A", {"x": 1})
    {'name': 'A', 'input': '{"x":1}', 'inputDetails': {'truncated': False}}
"""

from __future__ import annotations

from typing import Any

from ..jsontext import compact

__all__ = [
    "STATE_TYPES",
    "details_key",
    "dumps",
    "entered",
    "error_details",
    "exited",
    "payload_details",
]

#: the state ``Type`` -> the prefix of its Entered/Exited events
STATE_TYPES = {
    "Pass": "Pass",
    "Task": "Task",
    "Choice": "Choice",
    "Wait": "Wait",
    "Succeed": "Succeed",
    "Fail": "Fail",
    "Parallel": "Parallel",
    "Map": "Map",
}

_SPECIAL = {
    # events with details whose key is not simply lowerCamel(type) + "EventDetails"
    "MapIterationStarted": "mapIterationStartedEventDetails",
}
_NO_DETAILS = frozenset(
    {
        "LambdaFunctionStarted",
        "ParallelStateStarted",
        "ParallelStateSucceeded",
        "ParallelStateFailed",
        "ParallelStateAborted",
        "MapStateSucceeded",
        "MapStateFailed",
        "MapStateAborted",
        "MapRunSucceeded",
        "ExecutionAborted",
    }
)


def details_key(event_type: str) -> str | None:
    """The HistoryEvent member that carries ``event_type``'s details (None when it has none).

    Example:
        >>> details_key("MapStateStarted"), details_key("ParallelStateStarted")
        ('mapStateStartedEventDetails', None)
    """
    if event_type in _NO_DETAILS:
        return None
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    if event_type in _SPECIAL:
        return _SPECIAL[event_type]
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def dumps(value: Any) -> str:
    """JSON text as Step Functions writes it: compact, UTF-8 kept as is.

    Example:
        >>> dumps({"a": [1, "é"]})
        '{"a":[1,"é"]}'
    """
    return compact(value)


def entered(name: str, value: Any, text: str | None = None) -> dict[str, Any]:
    """``stateEnteredEventDetails``; ``text``: ``dumps(value)`` when the caller has it already."""
    text = dumps(value) if text is None else text
    return {"name": name, "input": text, "inputDetails": {"truncated": False}}


def exited(
    name: str, value: Any, assigned: dict[str, Any] | None = None, text: str | None = None
) -> dict[str, Any]:
    """``stateExitedEventDetails``; ``assignedVariables`` holds each assigned variable as JSON text.

    ``text``: ``dumps(value)`` when the caller has it already (the engine wrote it for the size check).
    """
    output = dumps(value) if text is None else text
    out: dict[str, Any] = {"name": name, "output": output, "outputDetails": {"truncated": False}}
    if assigned:
        out["assignedVariables"] = {k: dumps(v) for k, v in assigned.items()}
        out["assignedVariablesDetails"] = {"truncated": False}
    return out


def payload_details(value: Any, key: str = "output") -> dict[str, Any]:
    """``{output, outputDetails}`` (or ``input``/``inputDetails``) for task and Lambda events."""
    return {key: dumps(value), f"{key}Details": {"truncated": False}}


def error_details(error: str | None, cause: str | None, **extra: Any) -> dict[str, Any]:
    """``{error, cause}``, leaving out what is None (AWS omits an absent cause)."""
    out: dict[str, Any] = dict(extra)
    if error is not None:
        out["error"] = error
    if cause is not None:
        out["cause"] = cause
    return out
