"""What TestState asks of the engine for the one state under test: ``TestStateRun``.

Why a separate object: TestState runs a state through the same engine as an execution, and only a
few places differ — a mocked Map does not run its iterations, ``stateConfiguration`` sets how many
retries already happened and how many Map iterations failed, and the context object names the state
``StateName``. The engine and the state modules read those from ``run.testing`` (None in executions),
so nothing else in them knows TestState exists.

Rules, as AWS's TestState API reference (``TestStateConfiguration``) and its recorded answers give them:

- ``retrierRetryCount``: the retries that already happened for the Retrier that applies to the error;
  the next back-off is ``IntervalSeconds * BackoffRate ** count``, and a count at MaxAttempts fails.
- ``mapIterationFailureCount``: how many iterations of a mocked Map failed. Measured against the Map's
  ToleratedFailureCount/Percentage (a Map without either ignores it, as recorded); beyond it the Map
  fails with ``States.ExceedToleratedFailureThreshold``.
- ``mapItemReaderData``: the items an ItemReader would have read (JSON text).
- ``errorCausedByState``: names the state inside the Map or Parallel the mocked error comes from; the
  mocked error is what the state fails with either way, so it only documents the request here.
- ``$$.State.Name`` is ``StateName`` whichever state is tested (recorded with a ``stateName``).

Example:
    >>> run = TestStateRun(state_name="Map", mocked=True, mock_result=[1, 0], map_iteration_failure_count=1)
    >>> run.map_outcome(), run.failures_over(tolerated_count=0, tolerated_pct=None, items=2)
    ([1, 0], True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Failed

__all__ = ["CONTEXT_STATE_NAME", "TestStateRun"]

#: the name TestState's context object gives the state under test (``$$.State.Name``)
CONTEXT_STATE_NAME = "StateName"


@dataclass(slots=True, kw_only=True)
class TestStateRun:
    """The state under test, its mock and its ``stateConfiguration``; ``last_failure`` is filled in."""

    #: the state's name in the definition the engine runs
    state_name: str
    #: whether ``mock`` was given (a mocked Map does not run its ItemProcessor)
    mocked: bool = False
    #: the mock's ``result`` (parsed), when it has one
    mock_result: Any = None
    #: the mock's ``errorOutput`` as ``(error, cause)``, when it has one
    mock_error: tuple[str, str | None] | None = None
    retrier_retry_count: int = 0
    map_iteration_failure_count: int | None = None
    #: ``mapItemReaderData`` parsed: the items an ItemReader would have read
    map_item_reader_data: Any = None
    #: the last failure of the state under test (RETRIABLE and CAUGHT_ERROR answer its error and cause)
    last_failure: Failed | None = None

    def is_tested(self, name: str) -> bool:
        return name == self.state_name

    def map_outcome(self) -> list[Any] | Any | Failed:
        """What a mocked Map's iterations produced: the mock's result, or its error."""
        if self.mock_error is not None:
            return Failed(self.mock_error[0], self.mock_error[1])
        return self.mock_result

    def failures_over(self, *, tolerated_count: int | None, tolerated_pct: float | None, items: int) -> bool:
        """Whether ``mapIterationFailureCount`` exceeds the Map's tolerated failure threshold."""
        failures = self.map_iteration_failure_count
        if failures is None:
            return False
        if tolerated_count is not None and failures > tolerated_count:
            return True
        return tolerated_pct is not None and items > 0 and failures * 100.0 / items > tolerated_pct
