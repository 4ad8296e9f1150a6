"""Task tokens: the ``.waitForTaskToken`` callback pattern.

A Task whose resource ends in ``.waitForTaskToken`` gets a token in ``$$.Task.Token``, starts its work
(the integration call returns at once), and then waits until someone calls SendTaskSuccess,
SendTaskFailure or SendTaskHeartbeat with that token. ``TaskTokens`` is the meeting point: the engine
``issue``s a token and ``wait``s on it; the service's API methods call ``succeed``/``fail``/
``heartbeat``. It lives in memory, on the one event loop: a waiting execution holds only a future.

Why tokens are derived, not random: a token names ``(execution, state, entered event id, attempt)``.
The history that a restart resumes from is durable, and a resumed Task is re-entered with its
recorded Entered event id, so it is issued the *same* token again — a token handed to a worker before
a crash (or a ``kill -9``) is still accepted by SendTaskSuccess after the restart. That holds inside
a Parallel branch or Map iteration too: an unfinished one goes on from its own recorded events, so
its Task keeps its Entered event id. The history is the persistence; no second table can disagree
with it. Before a resumed execution takes a step, the service issues every such token again
(``EnginePort.reissue_token``): an answer that comes first waits in ``early`` for the Task.

Errors are AWS's: a token whose task has closed (answered, timed out, aborted) is ``TaskTimedOut``
("Task Timed Out: 'Provided task does not exist anymore'", as AWS answers a token used twice); a
well-formed token no running task owns is ``TaskDoesNotExist``; one that is not a token at all is
``InvalidToken``. No heartbeat within HeartbeatSeconds fails the task with ``States.HeartbeatTimeout``.

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
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidToken, TaskDoesNotExist, TaskTimedOut
from .clock import Clock, DeadlineExceeded, within
from .errors import StatesError, StatesErrorName

__all__ = ["TaskTokens", "token_execution"]

#: closed tokens remembered so a late or repeated answer gets TaskTimedOut, not TaskDoesNotExist
_CLOSED_KEPT = 10_000
_CLOSED_MESSAGE = "Task Timed Out: 'Provided task does not exist anymore'"


@dataclass(slots=True)
class _Waiting:
    execution_arn: str
    state_name: str
    future: asyncio.Future[Any] | None = None
    beats: asyncio.Event = field(default_factory=asyncio.Event)
    #: an answer that arrived before the engine started waiting
    early: tuple[str, Any] | None = None


def token_execution(token: str) -> str | None:
    """The execution ARN a well-formed token names, else None.

    Example:
        >>> token_execution(TaskTokens().issue("arn:e", "S", key="3.0"))
        'arn:e'
        >>> token_execution("not a token") is None
        True
    """
    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None
    arn = doc.get("e") if isinstance(doc, dict) else None
    return arn if isinstance(arn, str) else None


class TaskTokens:
    """Outstanding task tokens of every running execution."""

    def __init__(self) -> None:
        self._waiting: dict[str, _Waiting] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()
        #: execution ARN -> its tokens still waiting (``close_execution`` closes them at its end)
        self._by_execution: dict[str, set[str]] = {}

    def issue(self, execution_arn: str, state_name: str, *, key: str | None = None) -> str:
        """The token for the task ``state_name`` of ``execution_arn``.

        ``key`` identifies the attempt within the execution (the engine passes ``"<entered event id>.
        <retry count>"``), which makes the token the same when a resumed execution re-issues it; without
        a key the token is random.
        """
        raw = json.dumps({"e": execution_arn, "s": state_name, "k": key or uuid.uuid4().hex},
                         separators=(",", ":")).encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        self._closed.pop(token, None)
        existing = self._waiting.get(token)
        if existing is None or existing.future is not None:
            self._waiting[token] = _Waiting(execution_arn, state_name)
        self._by_execution.setdefault(execution_arn, set()).add(token)
        return token

    def _find(self, token: Any) -> _Waiting:
        if not isinstance(token, str) or not 1 <= len(token) <= 2048:
            raise InvalidToken("Invalid token")
        waiting = self._waiting.get(token)
        if waiting is None:
            if token in self._closed:
                raise TaskTimedOut(_CLOSED_MESSAGE)
            if token_execution(token) is None:
                raise InvalidToken("Invalid token")
            raise TaskDoesNotExist("Task does not exist anymore")
        return waiting

    def _close(self, token: str) -> None:
        waiting = self._waiting.pop(token, None)
        if waiting is not None:
            tokens = self._by_execution.get(waiting.execution_arn)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._by_execution[waiting.execution_arn]
        if waiting is not None or token not in self._closed:
            self._closed[token] = None
            while len(self._closed) > _CLOSED_KEPT:
                self._closed.popitem(last=False)

    def _answer(self, token: str, kind: str, value: Any) -> None:
        waiting = self._find(token)
        if waiting.early is not None:
            raise TaskTimedOut(_CLOSED_MESSAGE)
        if waiting.future is None:
            waiting.early = (kind, value)  # the engine picks it up in ``wait``
            return
        if not waiting.future.done():
            if kind == "ok":
                waiting.future.set_result(value)
            else:
                waiting.future.set_exception(StatesError(*value))
        self._close(token)

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
        """Close a token (its task ended some other way: timeout, abort)."""
        self._close(token)

    def close_execution(self, execution_arn: str) -> None:
        """Close every token of an execution that has ended: a later SendTask* gets TaskTimedOut, as
        on AWS. The engine closes a token when its Task ends; this catches the ones it never got back
        to — a token issued again at a restart for a Task the resumed execution did not reach."""
        for token in list(self._by_execution.pop(execution_arn, ())):
            self._close(token)

    async def wait(self, token: str, *, clock: Clock, heartbeat_s: float | None = None) -> Any:
        """The output sent with SendTaskSuccess; StatesError for a failure or a missed heartbeat."""
        waiting = self._waiting.get(token)
        if waiting is None:
            raise TaskDoesNotExist("Task does not exist anymore")
        if waiting.early is not None:
            self._close(token)
            kind, value = waiting.early
            if kind == "ok":
                return value
            raise StatesError(*value)
        waiting.future = asyncio.get_running_loop().create_future()
        while True:
            try:
                return await within(clock, heartbeat_s, asyncio.shield(waiting.future))
            except DeadlineExceeded:
                if not waiting.beats.is_set():
                    self._close(token)
                    raise StatesError(StatesErrorName.HEARTBEAT_TIMEOUT.value, None) from None
                waiting.beats.clear()
