"""State machines: their records, logging configuration, revisions and compiled definitions.

Why revisions: an execution runs the definition it started with, even if the machine is updated
while it runs (DescribeStateMachineForExecution shows that definition). Each CreateStateMachine /
UpdateStateMachine writes an immutable revision row; executions refer to a revision id. Parsing a
definition costs far more than a start may (the gateway targets a StartExecution median <= 1 ms), so
each revision is parsed once, when it is created or first used after a restart, and cached.

Tables (SQLite, the shared store):
    ``sfn_machines``   one row per live machine (arn, name, type, role, definition, logging, ...)
    ``sfn_revisions``  one row per revision (id, machine arn, definition, role, logging)

Example:
    >>> LoggingConfig.from_api({"level": "OFF"}).to_api()
    {'level': 'OFF', 'includeExecutionData': False}
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..arns import arn as make_arn
from ..errors import (
    InvalidArn,
    InvalidDefinition,
    InvalidLoggingConfiguration,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    ValidationException,
)
from ..store import Store
from .validation import constraint_error, parse_states_arn, require, validate_name

__all__ = ["LogLevel", "LoggingConfig", "MachineRegistry", "MachineType", "Revision", "StateMachine"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sfn_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    creation_date REAL NOT NULL,
    update_date REAL,
    tracing INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sfn_revisions (
    revision_id TEXT PRIMARY KEY,
    machine_arn TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    logging TEXT NOT NULL,
    created REAL NOT NULL
);
"""

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
_LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:([^:]+):\*$")
_DEFINITION_MAX = 1_048_576


class MachineType(StrEnum):
    """``type`` of a state machine."""

    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


class LogLevel(StrEnum):
    """``loggingConfiguration.level``: which history events are vended to CloudWatch Logs."""

    ALL = "ALL"
    ERROR = "ERROR"
    FATAL = "FATAL"
    OFF = "OFF"


def _enum_error(field_name: str, value: Any, allowed: list[str]) -> ValidationException:
    return constraint_error(field_name, f"Member must satisfy enum value set: [{', '.join(allowed)}]", value)


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """A validated ``loggingConfiguration``; ``log_group`` is the destination group's name."""

    level: LogLevel = LogLevel.OFF
    include_execution_data: bool = False
    log_group_arn: str | None = None
    log_group: str | None = None

    @classmethod
    def from_api(cls, value: dict[str, Any] | None) -> LoggingConfig:
        """Validate as CreateStateMachine does: one destination, required unless the level is OFF."""
        if not value:
            return cls()
        level_text = value.get("level", "OFF")
        if level_text not in LogLevel.__members__:
            raise _enum_error("loggingConfiguration.level", level_text, [m.value for m in LogLevel])
        level = LogLevel(level_text)
        destinations = value.get("destinations") or []
        if len(destinations) > 1 or (level is not LogLevel.OFF and not destinations):
            raise InvalidLoggingConfiguration(
                "Invalid Logging Configuration: Must specify exactly one Log Destination."
            )
        group_arn = group = None
        if destinations:
            group_arn = ((destinations[0] or {}).get("cloudWatchLogsLogGroup") or {}).get("logGroupArn")
            match = _LOG_GROUP_ARN.match(group_arn or "")
            if match is None:
                raise InvalidLoggingConfiguration("Invalid Logging Configuration: Log Destination not found.")
            group = match.group(1)
        return cls(level, bool(value.get("includeExecutionData", False)), group_arn, group)

    def to_api(self) -> dict[str, Any]:
        """The ``loggingConfiguration`` DescribeStateMachine answers with."""
        out: dict[str, Any] = {"level": self.level.value, "includeExecutionData": self.include_execution_data}
        if self.log_group_arn:
            out["destinations"] = [{"cloudWatchLogsLogGroup": {"logGroupArn": self.log_group_arn}}]
        return out

    @property
    def enabled(self) -> bool:
        """True when events are vended somewhere."""
        return self.level is not LogLevel.OFF and self.log_group is not None


@dataclass(frozen=True, slots=True)
class Revision:
    """One immutable version of a machine's definition, role and logging."""

    revision_id: str
    machine_arn: str
    definition: str
    role_arn: str
    logging: LoggingConfig
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class StateMachine:
    """A live state machine: its identity plus its current revision."""

    arn: str
    name: str
    type: MachineType
    revision: Revision
    creation_date: float
    update_date: float | None = None
    tracing: bool = False

    @property
    def express(self) -> bool:
        """Express machines keep no history in the service (logs only) and are not idempotent."""
        return self.type is MachineType.EXPRESS

    def describe(self) -> dict[str, Any]:
        """DescribeStateMachine's answer."""
        out: dict[str, Any] = {
            "stateMachineArn": self.arn,
            "name": self.name,
            "status": "ACTIVE",
            "definition": self.revision.definition,
            "roleArn": self.revision.role_arn,
            "type": self.type.value,
            "creationDate": self.creation_date,
            "loggingConfiguration": self.revision.logging.to_api(),
            "tracingConfiguration": {"enabled": self.tracing},
        }
        out["revisionId"] = self.revision.revision_id
        return out

    def list_item(self) -> dict[str, Any]:
        """One entry of ListStateMachines."""
        return {
            "stateMachineArn": self.arn,
            "name": self.name,
            "type": self.type.value,
            "creationDate": self.creation_date,
        }


def _parse_definition(definition: Any) -> Any:
    """Validate with the engine's parser (the one place definitions are compiled)."""
    from .parse import parse_definition  # the engine's parser

    if not isinstance(definition, str):
        raise require({}, "definition")
    if len(definition) > _DEFINITION_MAX:
        raise constraint_error(
            "definition", f"Member must have length less than or equal to {_DEFINITION_MAX}"
        )
    return parse_definition(definition)


@dataclass(slots=True)
class MachineRegistry:
    """The machines in memory (loaded once), written through to the store, with compiled definitions."""

    store: Store
    clock: Callable[[], float]
    machines: dict[str, StateMachine] = field(default_factory=dict)
    _compiled: dict[str, Any] = field(default_factory=dict)
    _revisions: dict[str, Revision] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store.migrate(_SCHEMA)
        rows = self.store.read(
            lambda db: db.execute(
                "SELECT m.arn, m.name, m.type, m.creation_date, m.update_date, m.tracing, r.revision_id,"
                " r.definition, r.role_arn, r.logging, r.created FROM sfn_machines m"
                " JOIN sfn_revisions r ON r.revision_id = m.revision_id"
            ).fetchall()
        )
        for arn, name, mtype, created, updated, tracing, rev_id, definition, role, logging, rev_at in rows:
            revision = Revision(
                rev_id, arn, definition, role, LoggingConfig.from_api(json.loads(logging)), rev_at
            )
            self._revisions[rev_id] = revision
            self.machines[arn] = StateMachine(
                arn, name, MachineType(mtype), revision, created, updated, bool(tracing)
            )

    # -- lookups ------------------------------------------------------------------------------------
    def get(self, arn: Any, *, field_name: str = "stateMachineArn") -> StateMachine:
        """The machine for a state machine ARN, or AWS's InvalidArn / StateMachineDoesNotExist."""
        machine = self.machines.get(arn) if isinstance(arn, str) else None
        if machine is not None:  # a key is a well-formed ARN: the parse would only say so again
            return machine
        parsed = parse_states_arn(arn, "stateMachine", field=field_name)
        machine = self.machines.get(parsed.text)
        if machine is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{parsed.text}'")
        return machine

    def revision(self, revision_id: str) -> Revision | None:
        """A revision by id (current or past), from memory or the store."""
        revision = self._revisions.get(revision_id)
        if revision is None:
            row = self.store.read(
                lambda db: db.execute(
                    "SELECT machine_arn, definition, role_arn, logging, created FROM sfn_revisions"
                    " WHERE revision_id=?",
                    (revision_id,),
                ).fetchone()
            )
            if row is None:
                return None
            logging = LoggingConfig.from_api(json.loads(row[3]))
            revision = Revision(revision_id, row[0], row[1], row[2], logging, row[4])
            self._revisions[revision_id] = revision
        return revision

    def compiled(self, revision: Revision) -> Any:
        """The engine's parsed Definition for a revision, parsed at most once."""
        definition = self._compiled.get(revision.revision_id)
        if definition is None:
            definition = self._compiled[revision.revision_id] = _parse_definition(revision.definition)
        return definition

    # -- writes -------------------------------------------------------------------------------------
    async def create(self, request: dict[str, Any]) -> StateMachine:
        """CreateStateMachine: idempotent for an identical configuration, else StateMachineAlreadyExists."""
        name = validate_name(require(request, "name"))
        definition = require(request, "definition")
        role_arn = _role(request)
        type_text = request.get("type") or "STANDARD"
        if type_text not in MachineType.__members__:
            raise _enum_error("type", type_text, ["STANDARD", "EXPRESS"])
        mtype = MachineType(type_text)
        logging = LoggingConfig.from_api(request.get("loggingConfiguration"))
        tracing = bool((request.get("tracingConfiguration") or {}).get("enabled", False))
        arn = make_arn("states", f"stateMachine:{name}")
        existing = self.machines.get(arn)
        if existing is not None:
            same = (
                existing.revision.definition == definition
                and existing.type is mtype
                and existing.revision.logging == logging
                and existing.tracing == tracing
            )
            if same:  # AWS ignores roleArn and tags when deciding idempotency
                return existing
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
        compiled = _parse_definition(definition)
        now = self.clock()
        revision = Revision(str(uuid.uuid4()), arn, definition, role_arn, logging, now)
        machine = StateMachine(arn, name, mtype, revision, now, None, tracing)
        await self.store.write(lambda db: self._insert(db, machine))
        self._install(machine, compiled)
        return machine

    async def update(self, request: dict[str, Any]) -> StateMachine:
        """UpdateStateMachine: a new revision with whichever of definition/role/logging is given."""
        machine = self.get(request.get("stateMachineArn"))
        definition = request.get("definition")
        role = request.get("roleArn")
        logging_in = request.get("loggingConfiguration")
        tracing_in = request.get("tracingConfiguration")
        if definition is None and role is None and logging_in is None and tracing_in is None:
            raise ValidationException(
                "Either the definition, the role ARN, the LoggingConfiguration, "
                "or the TracingConfiguration must be specified"
            )
        compiled = _parse_definition(definition) if definition is not None else None
        old = machine.revision
        revision = Revision(
            str(uuid.uuid4()),
            machine.arn,
            definition if definition is not None else old.definition,
            _role(request) if role is not None else old.role_arn,
            LoggingConfig.from_api(logging_in) if logging_in is not None else old.logging,
            self.clock(),
        )
        tracing = bool(tracing_in.get("enabled", False)) if tracing_in is not None else machine.tracing
        updated = replace(machine, revision=revision, update_date=revision.created, tracing=tracing)
        await self.store.write(lambda db: self._insert(db, updated))
        self._install(updated, compiled if compiled is not None else self._compiled.get(old.revision_id))
        return updated

    async def delete(self, arn: Any) -> None:
        """DeleteStateMachine: gone at once (running executions finish on their revision)."""
        parsed = parse_states_arn(arn, "stateMachine", field="stateMachineArn")
        if self.machines.pop(parsed.text, None) is not None:
            await self.store.write(
                lambda db: db.execute("DELETE FROM sfn_machines WHERE arn=?", (parsed.text,))
            )

    async def deploy(self, request: dict[str, Any]) -> StateMachine:
        """Create, or bring an existing machine of that name to this configuration (template deploys)."""
        name = validate_name(require(request, "name"))
        arn = make_arn("states", f"stateMachine:{name}")
        existing = self.machines.get(arn)
        if existing is None:
            return await self.create(request)
        if existing.type.value != (request.get("type") or "STANDARD"):
            await self.delete(arn)  # a type cannot be updated: replace, as CloudFormation does
            return await self.create(request)
        wanted_logging = LoggingConfig.from_api(request.get("loggingConfiguration"))
        wanted_tracing = bool((request.get("tracingConfiguration") or {}).get("enabled", False))
        if (existing.revision.definition == request.get("definition")
                and existing.revision.role_arn == request.get("roleArn")
                and existing.revision.logging == wanted_logging and existing.tracing == wanted_tracing):
            return existing  # unchanged since the last start-up: keep its revision (and compiled engine)
        update: dict[str, Any] = {
            k: request[k] for k in ("definition", "roleArn", "tracingConfiguration") if k in request
        }
        update["loggingConfiguration"] = request.get("loggingConfiguration") or {"level": "OFF"}
        return await self.update({"stateMachineArn": arn, **update})

    def _install(self, machine: StateMachine, compiled: Any) -> None:
        self.machines[machine.arn] = machine
        self._revisions[machine.revision.revision_id] = machine.revision
        if compiled is not None:
            self._compiled[machine.revision.revision_id] = compiled

    def _insert(self, db: sqlite3.Connection, machine: StateMachine) -> None:
        rev = machine.revision
        db.execute(
            "INSERT INTO sfn_revisions VALUES (?, ?, ?, ?, ?, ?)",
            (rev.revision_id, machine.arn, rev.definition, rev.role_arn,
             json.dumps(rev.logging.to_api()), rev.created),
        )
        db.execute(
            "INSERT OR REPLACE INTO sfn_machines VALUES (?, ?, ?, ?, ?, ?, ?)",
            (machine.arn, machine.name, machine.type.value, rev.revision_id, machine.creation_date,
             machine.update_date, int(machine.tracing)),
        )


def _role(request: dict[str, Any]) -> str:
    role = require(request, "roleArn")
    if not isinstance(role, str) or not _ROLE_ARN.match(role):
        raise InvalidArn(f"Invalid Role Arn: '{role}'")
    return role


def definition_error(exc: Exception) -> InvalidDefinition:
    """Wrap a non-AWS parser failure so the API never answers 500 for a bad document."""
    if isinstance(exc, InvalidDefinition):
        return exc
    return InvalidDefinition(f"Invalid State Machine Definition: '{exc}'")
