"""Which Parallel branch or Map iteration an event was recorded in: a private tag beside the event.

Why: branches and iterations run concurrently, so their events interleave in the history, and many
of them name no state (``TaskScheduled``, ``LambdaFunctionSucceeded``, ``ParallelStateStarted``...).
A resume must tell them apart to continue each unfinished branch from its own events. AWS's history
has no field for that, so the recorder writes it privately, beside the event, in the checkpoint the
store commits with it (``sfn_checkpoints``; never shown by GetExecutionHistory):

- ``"in": [[entered_id, index], ...]`` — the path of (Parallel/Map entered event id, branch or
  iteration index) pairs from the machine's top level down to the branch that recorded the event
  (absent at the top level). Entered event ids are unique in an execution, so one pair names one
  branch; a Retry of the Parallel keeps the pair, and a resume keeps only the current attempt's.
- ``"end": true`` — on the ``*StateExited`` event with which a branch (or iteration) ended: the
  "branch finished" record, in the same commit as the branch's last event. Its output is that
  event's ``output``.

The path lives in a ``ContextVar``: asyncio gives each branch task a copy of its context, so what a
branch sets is seen by everything it runs (nested states, their tasks) and by nothing beside it. Its
``"in":[...]`` text is written once, when the branch is entered, beside the path: every event the
branch records carries it, and writing it anew per event was a JSON encoding per event.

Example:
    >>> with inside((5, 1)):
    ...     stamp(None), stamp('{"output":2}'), stamp(END)
    ('{"in":[[5,1]]}', '{"in":[[5,1]],"output":2}', '{"in":[[5,1]],"end":true}')
    >>> stamp(END) is None  # the machine's own end needs no record
    True
    >>> path_of('{"in":[[5,1]],"end":true}'), is_end('{"in":[[5,1]],"end":true}')
    (((5, 1),), True)
"""

from __future__ import annotations

import json
from contextvars import ContextVar, Token

from ..jsontext import compact

__all__ = ["END", "Key", "Path", "current", "inside", "is_end", "path_of", "stamp"]

Key = tuple[int, int]
Path = tuple[Key, ...]

#: the checkpoint the engine passes with a ``*StateExited`` that ends its machine (End transition)
END = '{"end":true}'

#: the current branch path and its ``"in":[...]`` member text ("" at the top level)
_PATH: ContextVar[tuple[Path, str]] = ContextVar("asyncgate_branch_path", default=((), ""))


def current() -> Path:
    """The branch path of the code running now (``()`` at the machine's top level)."""
    return _PATH.get()[0]


class _Inside:
    """``inside``'s context manager (a class: one per Map iteration, cheaper than a generator's)."""

    __slots__ = ("_key", "_token")

    def __init__(self, key: Key) -> None:
        self._key = key
        self._token: Token[tuple[Path, str]] | None = None

    def __enter__(self) -> None:
        path = (*_PATH.get()[0], self._key)
        self._token = _PATH.set((path, '"in":' + compact(path)))

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _PATH.reset(self._token)


def inside(key: Key) -> _Inside:
    """Run the block as branch ``key`` = (entered event id, index) of the current branch."""
    return _Inside(key)


def stamp(checkpoint: str | None) -> str | None:
    """``checkpoint`` (a JSON object's text, or None) with the current branch path added.

    At the top level an end mark alone is dropped: the machine's end is its execution's end event.
    """
    tag = _PATH.get()[1]
    if not tag:
        return None if checkpoint == END else checkpoint
    if checkpoint is None:
        return "{" + tag + "}"
    rest = checkpoint.strip()[1:].lstrip()
    return "{" + tag + ("" if rest.startswith("}") else ",") + rest


def _load(checkpoint: str | None) -> dict[str, object]:
    if not checkpoint:
        return {}
    try:
        data = json.loads(checkpoint)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def path_of(checkpoint: str | None) -> Path:
    """The branch path recorded in ``checkpoint`` (``()``: top level, or recorded without one)."""
    raw = _load(checkpoint).get("in")
    if not isinstance(raw, list):
        return ()
    return tuple((int(k[0]), int(k[1])) for k in raw if isinstance(k, list) and len(k) == 2)


def is_end(checkpoint: str | None) -> bool:
    """Whether ``checkpoint`` marks the event with which its branch ended."""
    return _load(checkpoint).get("end") is True
