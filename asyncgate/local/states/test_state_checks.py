"""TestState's request checks: which state types take a mock, and what a mock must look like.

Why a module of its own: these are the API's rules, not the engine's, and each answers a fixed AWS
message (recorded in LocalStack's parity snapshots of AWS, ``test_state_mock_validation``):

- without a mock a Map or Parallel cannot be tested (``InvalidDefinition``: "TestState API does not
  support Map or Parallel states. ..."), and a Task needs a ``roleArn`` (it would call AWS);
- with a mock, Pass, Fail and Succeed are refused ("State type 'Pass' is not supported when a mock is
  specified"), ``revealSecrets`` is refused, the mock has one of ``result`` and ``errorOutput``, its
  result is JSON, and a Map's is an array (an object when the Map has a ResultWriter).

Example:
    >>> check_request({"mock": {"result": "[1]"}}, {"Type": "Map"})
    >>> try:
    ...     check_request({"mock": {"result": "{}"}}, {"Type": "Map"})
    ... except Exception as exc:
    ...     print(type(exc).__name__, exc.message)
    ValidationException Mocked result must be an array.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidDefinition, ValidationException

__all__ = ["check_request", "mock_value"]

_NO_MOCK_TYPES = ("Pass", "Fail", "Succeed")


def check_request(request: dict[str, Any], state: Any) -> None:
    """Refuse what AWS refuses for this state (its raw definition) and the request's mock."""
    kind = state.get("Type") if isinstance(state, dict) else None
    mock = request.get("mock")
    if mock is None:
        if kind in ("Map", "Parallel"):
            raise InvalidDefinition(
                "TestState API does not support Map or Parallel states. Supported state types include: "
                "[Task, Wait, Pass, Succeed, Fail, Choice]"
            )
        if kind == "Task" and not request.get("roleArn"):
            raise ValidationException("RoleArn must be specified when testing a Task state")
        return
    if kind in _NO_MOCK_TYPES:
        raise ValidationException(f"State type '{kind}' is not supported when a mock is specified")
    if request.get("revealSecrets"):
        raise ValidationException("TestState does not support RevealSecrets when a mock is specified.")
    result, _error = mock_value(mock)
    if kind == "Map" and "result" in mock:
        if isinstance(state, dict) and state.get("ResultWriter") is not None:
            if not isinstance(result, dict):
                raise ValidationException("Mocked result must be a JSON object.")
        elif not isinstance(result, list):
            raise ValidationException("Mocked result must be an array.")


def mock_value(mock: Any) -> tuple[Any, tuple[str, str | None] | None]:
    """The mock's ``(result, (error, cause))``: one of them set."""
    if not isinstance(mock, dict):
        raise ValidationException("1 validation error detected: Value at 'mock' must be an object")
    if {"result", "errorOutput"} <= mock.keys():
        raise ValidationException(
            "A test mock should have only one of the following fields: [result, errorOutput].")
    if "errorOutput" in mock:
        failure = mock["errorOutput"] or {}
        return None, (str(failure.get("error", "")), failure.get("cause"))
    try:
        return json.loads(mock.get("result", "null")), None
    except (TypeError, ValueError):
        raise ValidationException("Mocked result must be valid JSON") from None
