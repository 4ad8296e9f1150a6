"""Errors raised while a state machine runs, with Amazon States Language's exact names.

A ``StatesError`` is the runtime's one failure value: the engine turns every failure (a task's own
error, a data-flow failure, a timeout) into one, matches it against Retry and Catch, and, uncaught,
ends the execution with it. ``error`` and ``cause`` are the exact strings AWS records in history.
"""

from __future__ import annotations

from enum import StrEnum


class StatesErrorName(StrEnum):
    """The predefined error names of the States Language (``States.*``)."""

    ALL = "States.ALL"
    HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
    TIMEOUT = "States.Timeout"
    TASK_FAILED = "States.TaskFailed"
    PERMISSIONS = "States.Permissions"
    RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
    PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
    QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
    BRANCH_FAILED = "States.BranchFailed"
    NO_CHOICE_MATCHED = "States.NoChoiceMatched"
    INTRINSIC_FAILURE = "States.IntrinsicFailure"
    EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
    ITEM_READER_FAILED = "States.ItemReaderFailed"
    RESULT_WRITER_FAILED = "States.ResultWriterFailed"
    RUNTIME = "States.Runtime"
    DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"


class StatesError(Exception):
    """A failure inside an execution: ``error`` is matched by Retry/Catch ``ErrorEquals``.

    Example:
        >>> e = StatesError(StatesErrorName.NO_CHOICE_MATCHED, "No Matches!")
        >>> (e.error, e.cause)
        ('States.NoChoiceMatched', 'No Matches!')
    """

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause else str(error))
        self.error = str(error)
        self.cause = cause

    def to_output(self) -> dict[str, str]:
        """The ``{"Error", "Cause"}`` document a Catch passes on (Cause omitted when there is none)."""
        out = {"Error": self.error}
        if self.cause is not None:
            out["Cause"] = self.cause
        return out
