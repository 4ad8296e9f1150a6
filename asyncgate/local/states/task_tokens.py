"""Task tokens: the ``.waitForTaskToken`` callback pattern.

A Task whose resource ends in ``.waitForTaskToken`` gets a token in ``$$.Task.Token``, starts its work
(the integration call returns at once), and then waits until someone calls SendTaskSuccess,
SendTaskFailure or SendTaskHeartbeat with that token. ``TaskTokens`` is the meeting point: the engine
``issue``s a token and ``wait``s on it; the service's API methods call ``succeed``/``fail``/
``heartbeat``. It lives in memory, on the one event loop: a waiting execution holds only a future.

Errors are AWS's: an unknown or finished token is ``TaskDoesNotExist`` (a malformed one
``InvalidToken``); no heartbeat within HeartbeatSeconds fails the task with ``States.HeartbeatTimeout``.

Example:
    >>> import asyncio
    >>> from .clock import VirtualClock
    >>> tokens = TaskTokens()
    >>> async def main():
    ...     token = tokens.issue("arn:exec", "Approve")
    ...     waiter = asyncio.ensure_future(tokens.wait(token, clock=VirtualClock()))
    ...     await asyncio.sleep(0)
    ...     tokens.succeed(token, {"approved": True})
    ...     return await waiter
    >>> asyncio.run(main())
    {'approved': True}
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidToken, TaskDoesNotExist
from .clock import Clock, DeadlineExceeded, within
from .errors import StatesError, StatesErrorName

__all__ = ["TaskTokens"]


@dataclass(slots=True)
class _Waiting:
    execution_arn: str
    state_name: str
    future: asyncio.Future[Any] | None = None
    beats: asyncio.Event = field(default_factory=asyncio.Event)
    #: an answer that arrived before the engine started waiting
    early: tuple[str, Any] | None = None


class TaskTokens:
    """Outstanding task tokens of every running execution."""

    def __init__(self) -> None:
        self._waiting: dict[str, _Waiting] = {}

    def issue(self, execution_arn: str, state_name: str) -> str:
        """A new token for the task ``state_name`` of ``execution_arn``."""
        raw = json.dumps({"e": execution_arn, "s": state_name, "t": uuid.uuid4().hex}).encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        self._waiting[token] = _Waiting(execution_arn, state_name)
        return token

    def _find(self, token: str) -> _Waiting:
        if not isinstance(token, str) or not 1 <= len(token) <= 2048:
            raise InvalidToken("Invalid token")
        waiting = self._waiting.get(token)
        if waiting is None:
            try:
                json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            except ValueError:
                raise InvalidToken("Invalid token") from None
            raise TaskDoesNotExist("Task does not exist anymore")
        return waiting

    def _answer(self, token: str, kind: str, value: Any) -> None:
        waiting = self._find(token)
        if waiting.future is None:
            waiting.early = (kind, value)
        elif not waiting.future.done():
            if kind == "ok":
                waiting.future.set_result(value)
            else:
                waiting.future.set_exception(StatesError(*value))
        self._waiting.pop(token, None)

    def succeed(self, token: str, output: Any) -> None:
        """SendTaskSuccess: the task's result is ``output``."""
        self._answer(token, "ok", output)

    def fail(self, token: str, error: str | None, cause: str | None) -> None:
        """SendTaskFailure: the task fails with ``error`` (AWS leaves it empty when not given)."""
        self._answer(token, "error", (error or "", cause))

    def heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat: the task is alive; restarts its HeartbeatSeconds."""
        self._find(token).beats.set()

    def execution_of(self, token: str) -> str:
        """The execution a token belongs to (for IAM checks and logs)."""
        return self._find(token).execution_arn

    def cancel(self, token: str) -> None:
        """Forget a token (its task ended some other way: timeout, abort)."""
        self._waiting.pop(token, None)

    async def wait(self, token: str, *, clock: Clock, heartbeat_s: float | None = None) -> Any:
        """The output sent with SendTaskSuccess; StatesError for a failure or a missed heartbeat."""
        waiting = self._waiting.get(token)
        if waiting is None:
            raise TaskDoesNotExist("Task does not exist anymore")
        if waiting.early is not None:
            self._waiting.pop(token, None)
            kind, value = waiting.early
            if kind == "ok":
                return value
            raise StatesError(*value)
        waiting.future = asyncio.get_running_loop().create_future()
        try:
            while True:
                try:
                    return await within(clock, heartbeat_s, asyncio.shield(waiting.future))
                except DeadlineExceeded:
                    if not waiting.beats.is_set():
                        raise StatesError(StatesErrorName.HEARTBEAT_TIMEOUT.value, None) from None
                    waiting.beats.clear()
        finally:
            self._waiting.pop(token, None)
