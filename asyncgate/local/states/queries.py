"""Read side of Standard executions: DescribeExecution, ListExecutions, GetExecutionHistory.

Why separate: these are plain SQL over ``sfn_executions`` / ``sfn_history`` with AWS's paging and
error rules, and nothing in them touches a running execution. History is keyed by the execution's
integer id (``executions.py`` says why); the reads look it up by ARN in the same statement.
Express executions are not queryable (AWS keeps no history for them): their ARNs
(``...:express:...``) fail ARN validation with "Resource type not valid in this context: express".

Example:
    >>> _status_filter({"statusFilter": "RUNNING"})
    'RUNNING'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import ExecutionDoesNotExist
from ..store import Store
from .executions import Execution, row_to_execution
from .machines import LoggingConfig, MachineRegistry, MachineType, Revision, StateMachine
from .recorder import HistoryEvent
from .validation import constraint_error, decode_token, encode_token, page_size, parse_states_arn

__all__ = ["Queries"]

_STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
COLUMNS = "arn, machine_arn, revision_id, name, status, input, output, error, cause, start_date, stop_date"
#: GetExecutionHistory's page of an execution named by ARN, oldest or newest first
_HISTORY = (
    "SELECT id, previous_id, timestamp, type, details FROM sfn_history"
    " WHERE execution_id = (SELECT id FROM sfn_executions WHERE arn=?)"
)
HISTORY_ASC = _HISTORY + " ORDER BY id ASC LIMIT ? OFFSET ?"
HISTORY_DESC = _HISTORY + " ORDER BY id DESC LIMIT ? OFFSET ?"


def _status_filter(request: dict[str, Any]) -> str | None:
    status = request.get("statusFilter")
    if status is not None and status not in _STATUSES:
        raise constraint_error(
            "statusFilter", f"Member must satisfy enum value set: [{', '.join(_STATUSES)}]", status
        )
    return status


@dataclass(frozen=True, slots=True)
class Queries:
    """Standard executions as stored."""

    store: Store
    machines: MachineRegistry

    def load(self, arn: Any) -> Execution:
        """A stored Standard execution by ARN, or InvalidArn / ExecutionDoesNotExist."""
        parsed = parse_states_arn(arn, "execution", field="executionArn")
        sql = f"SELECT {COLUMNS} FROM sfn_executions WHERE arn=?"
        row = self.store.read(lambda db: db.execute(sql, (parsed.text,)).fetchone())
        if row is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{parsed.text}'")
        return self._execution(row)

    def _execution(self, row: tuple[Any, ...]) -> Execution:
        machine_arn, revision_id = row[1], row[2]
        revision = self.machines.revision(revision_id)
        if revision is None:
            revision = Revision(revision_id, machine_arn, "{}", "", LoggingConfig())
        machine = self.machines.machines.get(machine_arn)
        if machine is None:  # deleted since: describe it from the revision the execution ran
            name = machine_arn.rsplit(":", 1)[-1]
            machine = StateMachine(machine_arn, name, MachineType.STANDARD, revision, revision.created)
        return row_to_execution(row, machine, revision)

    def list_executions(self, machine: StateMachine, request: dict[str, Any]) -> dict[str, Any]:
        """ListExecutions: newest first, optionally one status, paged."""
        status = _status_filter(request)
        size = page_size(request)
        scope = f"{machine.arn}|{status}"
        offset = decode_token(request.get("nextToken"), scope)
        sql = f"SELECT {COLUMNS} FROM sfn_executions WHERE machine_arn=?"
        args: list[Any] = [machine.arn]
        if status is not None:
            sql += " AND status=?"
            args.append(status)
        sql += " ORDER BY start_date DESC, arn LIMIT ? OFFSET ?"
        args += [size + 1, offset]
        rows = self.store.read(lambda db: db.execute(sql, args).fetchall())
        out: dict[str, Any] = {"executions": [self._execution(r).list_item() for r in rows[:size]]}
        if len(rows) > size:
            out["nextToken"] = encode_token(offset + size, scope)
        return out

    def history(self, arn: str, request: dict[str, Any]) -> dict[str, Any]:
        """GetExecutionHistory: events by id (or reversed), paged; data left out on request."""
        reverse = bool(request.get("reverseOrder", False))
        include = request.get("includeExecutionData", True) is not False
        size = page_size(request)
        scope = f"{arn}|{int(reverse)}"
        offset = decode_token(request.get("nextToken"), scope)
        sql = HISTORY_DESC if reverse else HISTORY_ASC
        rows = self.store.read(lambda db: db.execute(sql, (arn, size + 1, offset)).fetchall())
        events = [
            HistoryEvent(i, p, t, kind, None if d is None else json.loads(d)).to_api(include_data=include)
            for i, p, t, kind, d in rows[:size]
        ]
        out: dict[str, Any] = {"events": events}
        if len(rows) > size:
            out["nextToken"] = encode_token(offset + size, scope)
        return out
