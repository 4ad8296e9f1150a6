"""The parsed state machine: one frozen, slotted dataclass per state type, plus Retrier and Catcher.

Why hand-written: no maintained Python ASL engine exists outside LocalStack (and moto's vendored
copy of it), and both carry an ANTLR parser and an untyped operand stack. Here ``parse.py`` turns the
JSON document into these values once, compiling every JSONPath/JSONata/intrinsic expression, and
the state modules read typed fields. Field names are AWS's, in snake_case.

Conventions:
- A path field is ``JsonPath`` when given, ``None`` when the definition says ``null`` (InputPath:
  null gives ``{}``, ResultPath: null discards the result, OutputPath: null gives ``{}``); absent
  fields default to ``$`` at parse time.
- ``Renderable`` is anything with ``render(scope)``: a JSONPath payload template (Parameters,
  ResultSelector, ItemSelector, Assign) or a JSONata template (Arguments, Output, Assign, ...).

``Transition`` is what a state returns: ``Next(name, output) | End(output) | Failed(error, cause)``.

Example:
    >>> Next("B", {"x": 1})
    Next(name='B', output={'x': 1}, assigned=None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from .jsonpath import JsonPath
from .scope import Scope

__all__ = [
    "Catcher",
    "ChoiceBranch",
    "ChoiceState",
    "Definition",
    "End",
    "FailState",
    "Failed",
    "MapState",
    "Matcher",
    "ParallelState",
    "PassState",
    "QueryLanguage",
    "Renderable",
    "Retrier",
    "State",
    "SucceedState",
    "TaskState",
    "Transition",
    "WaitState",
]


class QueryLanguage(StrEnum):
    """``QueryLanguage`` at the top level or per state."""

    JSONPATH = "JSONPath"
    JSONATA = "JSONata"


class Renderable(Protocol):
    """A compiled template: JSONPath payload (``Payload``) or JSONata template (``Template``)."""

    def render(self, scope: Scope) -> Any: ...


class Matcher(Protocol):
    """A compiled Choice rule."""

    def matches(self, scope: Scope) -> bool: ...


# -- Transitions ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Next:
    """Go to state ``name`` with ``output``; ``assigned`` holds the variables the state assigned."""

    name: str
    output: Any
    assigned: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class End:
    """The (sub)machine ends here successfully with ``output``."""

    output: Any
    assigned: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The state failed: candidates for Retry/Catch, else the execution (or branch) fails."""

    error: str | None
    cause: str | None = None


Transition = Next | End | Failed


# -- Error handlers ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Retrier:
    """One ``Retry`` entry. Defaults are the spec's: 1 s, 3 attempts, rate 2.0."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: str = "NONE"
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Catcher:
    """One ``Catch`` entry: where to go, and how the ``{Error, Cause}`` output is placed."""

    error_equals: tuple[str, ...]
    next: str
    #: JSONPath: where the error output goes (``$`` default; None = discard -> state input)
    result_path: JsonPath | None = None
    #: JSONata: ``Output`` (``$states.errorOutput`` in scope)
    output: Renderable | None = None
    assign: Renderable | None = None
    comment: str | None = None


# -- States ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class _Common:
    name: str
    query_language: QueryLanguage = QueryLanguage.JSONPATH
    comment: str | None = None
    next: str | None = None
    end: bool = False
    input_path: JsonPath | None = None
    output_path: JsonPath | None = None
    #: the path fields were explicitly ``null`` (InputPath/OutputPath: {} instead of the value)
    input_path_null: bool = False
    output_path_null: bool = False
    assign: Renderable | None = None
    #: JSONata ``Output``
    output: Renderable | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PassState(_Common):
    """``Pass``: Result or Parameters, placed by ResultPath."""

    result: Any = None
    has_result: bool = False
    parameters: Renderable | None = None
    result_path: JsonPath | None = None
    result_path_null: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskState(_Common):
    """``Task``: one call through the TaskInvoker, with timeouts, Retry and Catch."""

    resource: str
    parameters: Renderable | None = None
    #: JSONata ``Arguments``
    arguments: Renderable | None = None
    result_selector: Renderable | None = None
    result_path: JsonPath | None = None
    result_path_null: bool = False
    timeout_seconds: int | None = None
    timeout_seconds_path: JsonPath | None = None
    timeout_seconds_expr: Renderable | None = None
    heartbeat_seconds: int | None = None
    heartbeat_seconds_path: JsonPath | None = None
    heartbeat_seconds_expr: Renderable | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceBranch:
    """One element of ``Choices``: the compiled rule, its Next, and JSONata Assign/Output."""

    rule: Matcher
    next: str
    assign: Renderable | None = None
    output: Renderable | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceState(_Common):
    """``Choice``: the first matching branch wins, else Default, else States.NoChoiceMatched."""

    choices: tuple[ChoiceBranch, ...] = ()
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitState(_Common):
    """``Wait``: exactly one of Seconds, Timestamp, SecondsPath, TimestampPath."""

    seconds: int | None = None
    seconds_expr: Renderable | None = None
    timestamp: str | None = None
    timestamp_expr: Renderable | None = None
    seconds_path: JsonPath | None = None
    timestamp_path: JsonPath | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceedState(_Common):
    """``Succeed``: ends the (sub)machine successfully."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FailState(_Common):
    """``Fail``: ends the (sub)machine with Error and Cause (or their paths / JSONata forms)."""

    error: str | None = None
    cause: str | None = None
    error_path: JsonPath | None = None
    cause_path: JsonPath | Renderable | None = None
    error_expr: Renderable | None = None
    cause_expr: Renderable | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelState(_Common):
    """``Parallel``: runs every branch concurrently; the output is the list of branch outputs."""

    branches: tuple[Definition, ...] = ()
    parameters: Renderable | None = None
    arguments: Renderable | None = None
    result_selector: Renderable | None = None
    result_path: JsonPath | None = None
    result_path_null: bool = False
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MapState(_Common):
    """``Map``: runs ``processor`` once per item (INLINE, or DISTRIBUTED over inline items)."""

    processor: Definition
    mode: str = "INLINE"
    execution_type: str | None = None
    items_path: JsonPath | None = None
    items: Renderable | None = None
    #: ItemSelector (or the legacy Parameters)
    item_selector: Renderable | None = None
    item_batcher: Mapping[str, Any] | None = None
    #: ItemReader / ResultWriter as written (reading items from S3 is not run locally yet)
    item_reader: Mapping[str, Any] | None = None
    result_writer: Mapping[str, Any] | None = None
    max_concurrency: int | None = None
    max_concurrency_path: JsonPath | None = None
    max_concurrency_expr: Renderable | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_count_path: JsonPath | None = None
    tolerated_failure_count_expr: Renderable | None = None
    tolerated_failure_percentage: float | None = None
    tolerated_failure_percentage_path: JsonPath | None = None
    tolerated_failure_percentage_expr: Renderable | None = None
    label: str | None = None
    result_selector: Renderable | None = None
    result_path: JsonPath | None = None
    result_path_null: bool = False
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


State = PassState | TaskState | ChoiceState | WaitState | SucceedState | FailState | ParallelState | MapState


@dataclass(frozen=True, slots=True, kw_only=True)
class Definition:
    """A state machine, a Parallel branch or a Map item processor."""

    start_at: str
    states: Mapping[str, State] = field(default_factory=dict)
    query_language: QueryLanguage = QueryLanguage.JSONPATH
    timeout_seconds: int | None = None
    comment: str | None = None
