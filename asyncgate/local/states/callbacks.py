"""SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat: the API side of ``.waitForTaskToken``.

Why a module of its own: the request checks are AWS's (lengths, JSON output, the token's state) and
have nothing to do with starting or describing executions; the engine side is ``task_tokens.py``.

Checks, in AWS's order: ``taskToken`` present and 1..2048 characters (ValidationException), SendTaskSuccess's
``output`` present, at most 262,144 characters and JSON (InvalidOutput), ``error`` at most 256 and
``cause`` at most 32,768 characters; then the token itself (InvalidToken, TaskDoesNotExist,
TaskTimedOut; see ``TaskTokens``).

Example:
    >>> import asyncio
    >>> callbacks = Callbacks(TaskTokens())
    >>> try:
    ...     asyncio.run(callbacks.send_task_heartbeat({"taskToken": "???"}))
    ... except Exception as exc:
    ...     print(type(exc).__name__, exc)
    InvalidToken Invalid token
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidOutput
from .task_tokens import TaskTokens
from .validation import constraint_error, require

__all__ = ["Callbacks"]

_MAX_OUTPUT = 262_144


def _length(request: dict[str, Any], field: str, low: int, high: int) -> str | None:
    """An optional string member within AWS's length bounds (its value is sensitive: not echoed)."""
    value = request.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise constraint_error(field, "Member must be a string")
    if len(value) > high:
        raise constraint_error(field, f"Member must have length less than or equal to {high}")
    if len(value) < low:
        raise constraint_error(field, f"Member must have length greater than or equal to {low}")
    return value


@dataclass(frozen=True, slots=True)
class Callbacks:
    """The three callback actions over the engines' shared ``TaskTokens``."""

    tokens: TaskTokens

    async def send_task_success(self, request: dict[str, Any]) -> dict[str, Any]:
        token = self._token(request)
        output = require(request, "output")
        if not isinstance(output, str) or len(output) > _MAX_OUTPUT:
            raise InvalidOutput(
                "Invalid Output: the output exceeds the maximum size of 262144 characters"
                if isinstance(output, str)
                else "Invalid Output: the output must be a string"
            )
        try:
            value = json.loads(output)
        except ValueError:
            raise InvalidOutput(f"Invalid Output: '{output}'") from None
        self.tokens.succeed(token, value)
        return {}

    async def send_task_failure(self, request: dict[str, Any]) -> dict[str, Any]:
        token = self._token(request)
        error = _length(request, "error", 0, 256)
        cause = _length(request, "cause", 0, 32_768)
        self.tokens.fail(token, error, cause)
        return {}

    async def send_task_heartbeat(self, request: dict[str, Any]) -> dict[str, Any]:
        self.tokens.heartbeat(self._token(request))
        return {}

    @staticmethod
    def _token(request: dict[str, Any]) -> str:
        token = require(request, "taskToken")
        _length(request, "taskToken", 1, 2048)
        return str(token)
