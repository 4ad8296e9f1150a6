"""Amazon States Language JSON -> ``model`` dataclasses, with the spec's rules checked once.

Every expression (JSONPath, payload templates, intrinsic functions, JSONata, Choice rules) is
compiled here, so a definition that CreateStateMachine accepts never fails to parse at run time, and
a running state only evaluates. A definition that breaks a rule raises ``InvalidDefinition`` worded as
AWS words it, e.g.::

    Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: String does not match RFC3339
    timestamp at /States/WaitUntil/Timestamp'

Several problems are joined with ", " inside the quotes, as AWS does.

Example:
    >>> d = parse_definition({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    >>> d.states["A"].end
    True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidDefinition
from . import model as m
from .jsonpath import JsonPath, compile_path
from .parse_fields import (
    STATE_FIELDS,
    ParseErrors,
    is_jsonata,
    payload,
    template,
)
from .parse_states import StateBuilders

__all__ = ["parse_definition"]

QL = m.QueryLanguage


def parse_definition(definition: str | Mapping[str, Any]) -> m.Definition:
    """Parse and validate a whole state machine definition (a JSON string or an already-parsed dict).

    Raises ``InvalidDefinition`` with AWS's message when the document breaks a rule.

    Example:
        >>> parse_definition('{"StartAt": "X", "States": {}}')
        Traceback (most recent call last):
        ...
        asyncgate.local.errors.InvalidDefinition: Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: X at /StartAt'
    """  # noqa: E501
    if isinstance(definition, str):
        try:
            doc = json.loads(definition)
        except ValueError as exc:
            raise InvalidDefinition(
                f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {exc}'"
            ) from exc
    else:
        doc = definition
    errors = ParseErrors()
    if not isinstance(doc, Mapping):
        errors.schema("Expected value of type: OBJECT", "")
        errors.raise_if_any()
    parsed = _Parser(errors).machine(doc, "", top=True)
    errors.raise_if_any()
    assert parsed is not None
    return parsed


class _Parser(StateBuilders):
    """Walks the document; the per-type builders (``s_pass``...) come from ``StateBuilders``."""

    def __init__(self, errors: ParseErrors) -> None:
        self.errors = errors
        self.names: set[str] = set()

    # -- machine / branch -----------------------------------------------------------------------------
    def machine(
        self, doc: Mapping[str, Any], at: str, *, top: bool = False, inherited: m.QueryLanguage = QL.JSONPATH
    ) -> m.Definition | None:
        err = self.errors
        allowed = {"StartAt", "States", "Comment", "QueryLanguage", "Version", "TimeoutSeconds"}
        if not top:
            allowed = {"StartAt", "States", "Comment", "QueryLanguage", "ProcessorConfig"}
        for key in doc:
            if key not in allowed:
                err.schema(f"Field '{key}' is not supported", at)
        ql = inherited
        if "QueryLanguage" in doc:
            raw = doc["QueryLanguage"]
            if raw not in ("JSONPath", "JSONata"):
                err.schema("Value is not a valid query language", f"{at}/QueryLanguage")
            else:
                ql = QL(raw)
                if not top and inherited is QL.JSONATA and ql is QL.JSONPATH:
                    err.schema(
                        "JSONPath QueryLanguage cannot be used inside a JSONata scope", f"{at}/QueryLanguage"
                    )
        start = doc.get("StartAt")
        states = doc.get("States")
        if not isinstance(start, str):
            err.schema(
                "These fields are required: [StartAt]" if start is None else "Expected value of type: STRING",
                f"{at}/StartAt" if start is not None else at,
            )
        if not isinstance(states, Mapping):
            err.schema(
                "These fields are required: [States]" if states is None else "Expected value of type: OBJECT",
                f"{at}/States" if states is not None else at,
            )
            return None
        timeout = doc.get("TimeoutSeconds")
        if timeout is not None and (not _is_int(timeout) or timeout < 0):
            err.schema("Expected value of type: INTEGER (>= 0)", f"{at}/TimeoutSeconds")
        parsed: dict[str, m.State] = {}
        for name, body in states.items():
            ptr = f"{at}/States/{name}"
            if name in self.names:
                err.add("DUPLICATE_STATE_NAME", f"Duplicate State name: {name}", ptr)
            self.names.add(name)
            if len(name) > 80:
                err.schema("State name is too long (max 80 characters)", ptr)
            if not isinstance(body, Mapping):
                err.schema("Expected value of type: OBJECT", ptr)
                continue
            state = self.state(name, body, ptr, ql)
            if state is not None:
                parsed[name] = state
        if isinstance(start, str) and start not in states:
            err.add("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {start}", f"{at}/StartAt")
        self._check_targets(parsed, states, at)
        if isinstance(start, str) and start in parsed:
            self._check_reachable(start, parsed, at)
        if not isinstance(start, str):
            return None
        return m.Definition(
            start_at=start,
            states=parsed,
            query_language=ql,
            timeout_seconds=timeout if _is_int(timeout) else None,
            comment=doc.get("Comment"),
        )

    def _check_targets(self, parsed: Mapping[str, m.State], raw: Mapping[str, Any], at: str) -> None:
        for name, state in parsed.items():
            ptr = f"{at}/States/{name}"
            targets: list[tuple[str, str]] = []
            if state.next is not None:
                targets.append((state.next, f"{ptr}/Next"))
            if isinstance(state, m.ChoiceState):
                targets += [(c.next, f"{ptr}/Choices[{i}]/Next") for i, c in enumerate(state.choices)]
                if state.default is not None:
                    targets.append((state.default, f"{ptr}/Default"))
            for i, c in enumerate(getattr(state, "catch", ())):
                targets.append((c.next, f"{ptr}/Catch[{i}]/Next"))
            for target, where in targets:
                if target not in raw:
                    self.errors.add("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {target}", where)

    def _check_reachable(self, start: str, parsed: Mapping[str, m.State], at: str) -> None:
        seen: set[str] = set()
        todo = [start]
        while todo:
            name = todo.pop()
            if name in seen or name not in parsed:
                continue
            seen.add(name)
            s = parsed[name]
            if s.next:
                todo.append(s.next)
            if isinstance(s, m.ChoiceState):
                todo += [c.next for c in s.choices]
                if s.default:
                    todo.append(s.default)
            todo += [c.next for c in getattr(s, "catch", ())]
        for name in parsed:
            if name not in seen:
                self.errors.add(
                    "MISSING_TRANSITION_TARGET", f'State "{name}" is not reachable.', f"{at}/States/{name}"
                )

    # -- states ---------------------------------------------------------------------------------------
    def state(
        self, name: str, body: Mapping[str, Any], ptr: str, inherited: m.QueryLanguage
    ) -> m.State | None:
        err = self.errors
        typ = body.get("Type")
        if typ is None:
            err.schema("These fields are required: [Type]", ptr)
            return None
        if typ not in STATE_FIELDS:
            err.schema(
                f"Unknown state type '{typ}'" if isinstance(typ, str) else "Expected value of type: STRING",
                f"{ptr}/Type",
            )
            return None
        ql = inherited
        raw_ql = body.get("QueryLanguage")
        if raw_ql is not None:
            if raw_ql not in ("JSONPath", "JSONata"):
                err.schema("Value is not a valid query language", f"{ptr}/QueryLanguage")
            else:
                ql = QL(raw_ql)
                if inherited is QL.JSONATA and ql is QL.JSONPATH:
                    err.schema(
                        "JSONPath QueryLanguage cannot be used inside a JSONata scope", f"{ptr}/QueryLanguage"
                    )
        common_fields, per_ql = STATE_FIELDS[typ]
        allowed = common_fields | per_ql[ql]
        for key in body:
            if key not in allowed:
                if key in per_ql[QL.JSONPATH] | per_ql[QL.JSONATA]:
                    err.schema(
                        f"The field '{key}' is not supported for the query language {ql.value}",
                        f"{ptr}/{key}" if False else ptr,
                    )
                else:
                    err.schema(f"Field '{key}' is not supported", ptr)
        common = self.common(name, typ, body, ptr, ql)
        builder: Callable[..., m.State | None] = getattr(self, "s_" + typ.lower())
        return builder(body, ptr, ql, common)

    def common(
        self, name: str, typ: str, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage
    ) -> dict[str, Any]:
        err = self.errors
        out: dict[str, Any] = {"name": name, "query_language": ql, "comment": body.get("Comment")}
        terminal = typ in ("Succeed", "Fail", "Choice")
        nxt, end = body.get("Next"), body.get("End")
        if not terminal:
            if nxt is not None and end:
                err.schema("Only one of Next or End is allowed", ptr)  # AWS: both present
            elif nxt is None and not end:
                err.schema(
                    "These fields are required: [Next, End]"
                    if end is None
                    else "End must be true when there is no Next",
                    ptr,
                )
            if nxt is not None and not isinstance(nxt, str):
                err.schema("Expected value of type: STRING", f"{ptr}/Next")
            out["next"] = nxt if isinstance(nxt, str) else None
            out["end"] = bool(end) and nxt is None
        if ql is QL.JSONPATH:
            for key, null_key in (("InputPath", "input_path_null"), ("OutputPath", "output_path_null")):
                if key in body:
                    if body[key] is None:
                        out[null_key] = True
                    else:
                        out[_snake(key)] = self.path(body[key], f"{ptr}/{key}")
        if "Assign" in body:
            out["assign"] = self.assign(body["Assign"], f"{ptr}/Assign", ql)
        if ql is QL.JSONATA and "Output" in body:
            out["output"] = template(body["Output"], f"{ptr}/Output", err)
        return out

    def assign(self, value: Any, ptr: str, ql: m.QueryLanguage) -> m.Renderable | None:
        if not isinstance(value, Mapping):
            self.errors.schema("Expected value of type: OBJECT", ptr)
            return None
        for key in value:
            var = key[:-2] if ql is QL.JSONPATH and key.endswith(".$") else key
            if (
                not var
                or not (var[0].isalpha() or var[0] == "_")
                or not all(c.isalnum() or c == "_" for c in var)
            ):
                self.errors.schema(f"The variable name '{var}' is not valid", ptr)
        if ql is QL.JSONATA:
            return template(value, ptr, self.errors)
        return payload(value, ptr, self.errors)

    def path(self, value: Any, ptr: str, *, reference: bool = False) -> JsonPath | None:
        if not isinstance(value, str):
            self.errors.schema("Expected value of type: STRING", ptr)
            return None
        try:
            p = compile_path(value)
        except ValueError:
            self.errors.schema(
                "Value is not a valid reference path" if reference else "Value is not a valid JSONPath", ptr
            )
            return None
        if reference and not p.is_reference:
            self.errors.schema("Value is not a valid reference path", ptr)
            return None
        return p

    def result_path(
        self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]
    ) -> None:
        if ql is QL.JSONPATH and "ResultPath" in body:
            if body["ResultPath"] is None:
                out["result_path_null"] = True
            else:
                p = self.path(body["ResultPath"], f"{ptr}/ResultPath", reference=True)
                if p is not None and p.variable is not None:
                    self.errors.schema("Value is not a valid reference path", f"{ptr}/ResultPath")
                out["result_path"] = p

    def payload_field(self, body: Mapping[str, Any], key: str, ptr: str) -> m.Renderable | None:
        if key not in body:
            return None
        return payload(body[key], f"{ptr}/{key}", self.errors)

    def int_or_expr(
        self,
        body: Mapping[str, Any],
        key: str,
        ptr: str,
        ql: m.QueryLanguage,
        out: dict[str, Any],
        attr: str,
        *,
        minimum: int = 0,
        number: bool = False,
    ) -> None:
        """``Seconds``/``MaxConcurrency``/``TimeoutSeconds``...: a number, JSONata text, or ``...Path``."""
        if key in body:
            v = body[key]
            if ql is QL.JSONATA and isinstance(v, str) and is_jsonata(v):
                out[attr + "_expr"] = template(v, f"{ptr}/{key}", self.errors)
            elif (number and isinstance(v, int | float) and not isinstance(v, bool)) or _is_int(v):
                if v < minimum:
                    self.errors.schema(
                        f"Expected value of type: {'NUMBER' if number else 'INTEGER'} (>= {minimum})",
                        f"{ptr}/{key}",
                    )
                out[attr] = v
            else:
                self.errors.schema(
                    f"Expected value of type: {'NUMBER' if number else 'INTEGER'}", f"{ptr}/{key}"
                )
        if key + "Path" in body:
            if key in body:
                self.errors.schema(f"Only one of {key} or {key}Path is allowed", ptr)
            out[attr + "_path"] = self.path(body[key + "Path"], f"{ptr}/{key}Path")

    def retriers(self, body: Mapping[str, Any], ptr: str) -> tuple[m.Retrier, ...]:
        from .retry import parse_retrier

        raw = body.get("Retry", [])
        if not isinstance(raw, list):
            self.errors.schema("Expected value of type: ARRAY", f"{ptr}/Retry")
            return ()
        out = [parse_retrier(r, f"{ptr}/Retry[{i}]", self.errors) for i, r in enumerate(raw)]
        _check_all_last([r.error_equals for r in out if r], f"{ptr}/Retry", self.errors)
        return tuple(r for r in out if r is not None)

    def catchers(self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage) -> tuple[m.Catcher, ...]:
        raw = body.get("Catch", [])
        if not isinstance(raw, list):
            self.errors.schema("Expected value of type: ARRAY", f"{ptr}/Catch")
            return ()
        out: list[m.Catcher] = []
        for i, c in enumerate(raw):
            cptr = f"{ptr}/Catch[{i}]"
            if not isinstance(c, Mapping):
                self.errors.schema("Expected value of type: OBJECT", cptr)
                continue
            eq = _error_equals(c, cptr, self.errors)
            nxt = c.get("Next")
            if not isinstance(nxt, str):
                self.errors.schema("These fields are required: [Next]", cptr)
                continue
            kw: dict[str, Any] = {"error_equals": eq, "next": nxt, "comment": c.get("Comment")}
            if ql is QL.JSONPATH:
                if "ResultPath" in c and c["ResultPath"] is None:
                    kw["result_path"] = None
                else:
                    kw["result_path"] = self.path(
                        c.get("ResultPath", "$"), f"{cptr}/ResultPath", reference=True
                    )
            elif "Output" in c:
                kw["output"] = template(c["Output"], f"{cptr}/Output", self.errors)
            if "Assign" in c:
                kw["assign"] = self.assign(c["Assign"], f"{cptr}/Assign", ql)
            out.append(m.Catcher(**kw))
        _check_all_last([c.error_equals for c in out], f"{ptr}/Catch", self.errors)
        return tuple(out)


def _check_all_last(lists: list[tuple[str, ...]], ptr: str, errors: ParseErrors) -> None:
    for i, eq in enumerate(lists):
        if "States.ALL" in eq and i != len(lists) - 1:
            errors.schema("States.ALL must appear alone and in the last position", f"{ptr}[{i}]/ErrorEquals")


def _error_equals(raw: Mapping[str, Any], ptr: str, errors: ParseErrors) -> tuple[str, ...]:
    eq = raw.get("ErrorEquals")
    if not isinstance(eq, list) or not eq or not all(isinstance(e, str) for e in eq):
        errors.schema(
            "These fields are required: [ErrorEquals]"
            if eq is None
            else "ErrorEquals must be a non-empty array of strings",
            ptr,
        )
        return ()
    if "States.ALL" in eq and len(eq) > 1:
        errors.schema("States.ALL must appear alone in ErrorEquals", f"{ptr}/ErrorEquals")
    return tuple(eq)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key).lstrip("_")


error_equals = _error_equals
