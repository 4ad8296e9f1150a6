"""Per-state-type builders for the parser: one ``s_<type>`` method per state type.

Split from ``parse.py`` so each module stays short: ``parse.py`` walks the document (machines,
targets, reachability, the fields every state shares); this mixin turns one state's own fields into
its ``model`` dataclass. ``self.errors`` collects problems; ``self.machine`` parses nested machines
(Parallel branches, Map item processors).

Example:
    >>> from .parse import parse_definition
    >>> parse_definition({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": True}}}).states["W"].seconds
    3
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import model as m
from .parse_fields import is_jsonata, is_rfc3339, payload, template

if TYPE_CHECKING:
    from .jsonpath import JsonPath
    from .parse_fields import ParseErrors

__all__ = ["StateBuilders"]

QL = m.QueryLanguage


class StateBuilders:
    """The ``s_<type>`` builders; expects ``errors``, ``machine``, ``path``, ``assign`` etc. on self."""

    errors: ParseErrors

    if TYPE_CHECKING:

        def machine(
            self,
            doc: Mapping[str, Any],
            at: str,
            *,
            top: bool = False,
            inherited: m.QueryLanguage = QL.JSONPATH,
        ) -> m.Definition | None: ...

        def path(self, value: Any, ptr: str, *, reference: bool = False) -> JsonPath | None: ...

        def result_path(
            self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]
        ) -> None: ...

        def payload_field(self, body: Mapping[str, Any], key: str, ptr: str) -> m.Renderable | None: ...

        def assign(self, value: Any, ptr: str, ql: m.QueryLanguage) -> m.Renderable | None: ...

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
        ) -> None: ...

        def retriers(self, body: Mapping[str, Any], ptr: str) -> tuple[m.Retrier, ...]: ...

        def catchers(
            self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage
        ) -> tuple[m.Catcher, ...]: ...

    # -- per type ------------------------------------------------------------------------------------
    def s_pass(self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]) -> m.State:
        if "Result" in body:
            out.update(result=body["Result"], has_result=True)
        out["parameters"] = self.payload_field(body, "Parameters", ptr)
        self.result_path(body, ptr, ql, out)
        return m.PassState(**out)

    def s_task(
        self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]
    ) -> m.State | None:
        resource = body.get("Resource")
        if not isinstance(resource, str):
            self.errors.schema("These fields are required: [Resource]", ptr)
            return None
        if not resource.startswith("arn:"):
            self.errors.schema("Value is not a valid resource ARN", f"{ptr}/Resource")
        out["resource"] = resource
        if ql is QL.JSONATA:
            if "Arguments" in body:
                out["arguments"] = template(body["Arguments"], f"{ptr}/Arguments", self.errors)
        else:
            out["parameters"] = self.payload_field(body, "Parameters", ptr)
            out["result_selector"] = self.payload_field(body, "ResultSelector", ptr)
            self.result_path(body, ptr, ql, out)
        self.int_or_expr(body, "TimeoutSeconds", ptr, ql, out, "timeout_seconds", minimum=1)
        self.int_or_expr(body, "HeartbeatSeconds", ptr, ql, out, "heartbeat_seconds", minimum=1)
        if (
            _is_int(out.get("timeout_seconds"))
            and _is_int(out.get("heartbeat_seconds"))
            and out["heartbeat_seconds"] >= out["timeout_seconds"]
        ):
            self.errors.schema(
                "HeartbeatSeconds must be smaller than TimeoutSeconds", f"{ptr}/HeartbeatSeconds"
            )
        out["retry"] = self.retriers(body, ptr)
        out["catch"] = self.catchers(body, ptr, ql)
        return m.TaskState(**out)

    def s_choice(
        self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]
    ) -> m.State:
        from .choice import compile_choice_rule

        raw = body.get("Choices")
        branches: list[m.ChoiceBranch] = []
        if not isinstance(raw, list) or not raw:
            self.errors.schema(
                "These fields are required: [Choices]"
                if raw is None
                else "Choices must be a non-empty array",
                ptr if raw is None else f"{ptr}/Choices",
            )
        else:
            for i, rule in enumerate(raw):
                rptr = f"{ptr}/Choices[{i}]"
                if not isinstance(rule, Mapping):
                    self.errors.schema("Expected value of type: OBJECT", rptr)
                    continue
                nxt = rule.get("Next")
                if not isinstance(nxt, str):
                    self.errors.schema("These fields are required: [Next]", rptr)
                    continue
                body_rule = {
                    k: v for k, v in rule.items() if k not in ("Next", "Assign", "Output", "Comment")
                }
                try:
                    compiled = compile_choice_rule(body_rule, query_language=ql.value)
                except ValueError as exc:  # InvalidChoiceRule: the compiler's message, placed in the rule
                    self.errors.schema(str(exc), rptr + getattr(exc, "pointer", ""))
                    continue
                assign = self.assign(rule["Assign"], f"{rptr}/Assign", ql) if "Assign" in rule else None
                output = (
                    template(rule["Output"], f"{rptr}/Output", self.errors)
                    if ql is QL.JSONATA and "Output" in rule
                    else None
                )
                branches.append(m.ChoiceBranch(rule=compiled, next=nxt, assign=assign, output=output))
        default = body.get("Default")
        out.update(choices=tuple(branches), default=default if isinstance(default, str) else None)
        return m.ChoiceState(**out)

    def s_wait(self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]) -> m.State:
        given = [k for k in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if k in body]
        if len(given) != 1:
            self.errors.schema(
                "Exactly one of Seconds, Timestamp, SecondsPath, TimestampPath is required"
                if given
                else "These fields are required: [Seconds, Timestamp, SecondsPath, TimestampPath]",
                ptr,
            )
        if "Seconds" in body:
            self.int_or_expr(body, "Seconds", ptr, ql, out, "seconds")
            out.pop("seconds_path", None)
        if "Timestamp" in body:
            ts = body["Timestamp"]
            if ql is QL.JSONATA and isinstance(ts, str) and is_jsonata(ts):
                out["timestamp_expr"] = template(ts, f"{ptr}/Timestamp", self.errors)
            elif not isinstance(ts, str) or not is_rfc3339(ts):
                self.errors.schema("String does not match RFC3339 timestamp", f"{ptr}/Timestamp")
            else:
                out["timestamp"] = ts
        if "SecondsPath" in body:
            out["seconds_path"] = self.path(body["SecondsPath"], f"{ptr}/SecondsPath")
        if "TimestampPath" in body:
            out["timestamp_path"] = self.path(body["TimestampPath"], f"{ptr}/TimestampPath")
        return m.WaitState(**out)

    def s_succeed(
        self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]
    ) -> m.State:
        return m.SucceedState(**out)

    def s_fail(self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]) -> m.State:
        for key, attr in (("Error", "error"), ("Cause", "cause")):
            if key in body:
                v = body[key]
                if ql is QL.JSONATA and isinstance(v, str) and is_jsonata(v):
                    out[attr + "_expr"] = template(v, f"{ptr}/{key}", self.errors)
                elif isinstance(v, str):
                    out[attr] = v
                else:
                    self.errors.schema("Expected value of type: STRING", f"{ptr}/{key}")
            if key + "Path" in body:
                if key in body:
                    self.errors.schema(f"Only one of {key} or {key}Path is allowed", ptr)
                raw = body[key + "Path"]
                if isinstance(raw, str) and raw.startswith("States."):
                    out[attr + "_path"] = payload({"v.$": raw}, f"{ptr}/{key}Path", self.errors)
                else:
                    out[attr + "_path"] = self.path(raw, f"{ptr}/{key}Path")
        return m.FailState(**out)

    def s_parallel(
        self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]
    ) -> m.State:
        raw = body.get("Branches")
        branches: list[m.Definition] = []
        if not isinstance(raw, list) or not raw:
            self.errors.schema("These fields are required: [Branches]", ptr)
        else:
            for i, b in enumerate(raw):
                if not isinstance(b, Mapping):
                    self.errors.schema("Expected value of type: OBJECT", f"{ptr}/Branches[{i}]")
                    continue
                d = self.machine(b, f"{ptr}/Branches[{i}]", inherited=ql)
                if d is not None:
                    branches.append(d)
        out["branches"] = tuple(branches)
        if ql is QL.JSONATA:
            if "Arguments" in body:
                out["arguments"] = template(body["Arguments"], f"{ptr}/Arguments", self.errors)
        else:
            out["parameters"] = self.payload_field(body, "Parameters", ptr)
            out["result_selector"] = self.payload_field(body, "ResultSelector", ptr)
            self.result_path(body, ptr, ql, out)
        out["retry"] = self.retriers(body, ptr)
        out["catch"] = self.catchers(body, ptr, ql)
        return m.ParallelState(**out)

    def s_map(
        self, body: Mapping[str, Any], ptr: str, ql: m.QueryLanguage, out: dict[str, Any]
    ) -> m.State | None:
        key = "ItemProcessor" if "ItemProcessor" in body else "Iterator"
        proc = body.get(key)
        if not isinstance(proc, Mapping):
            self.errors.schema("These fields are required: [ItemProcessor]", ptr)
            return None
        config = proc.get("ProcessorConfig") or {}
        out["mode"] = config.get("Mode", "INLINE")
        if out["mode"] not in ("INLINE", "DISTRIBUTED"):
            self.errors.schema("Value is not a valid processor mode", f"{ptr}/{key}/ProcessorConfig/Mode")
        out["execution_type"] = config.get("ExecutionType")
        processor = self.machine(proc, f"{ptr}/{key}", inherited=ql)
        if processor is None:
            return None
        out["processor"] = processor
        if ql is QL.JSONATA:
            if "Items" in body:
                out["items"] = template(body["Items"], f"{ptr}/Items", self.errors)
        else:
            if "ItemsPath" in body:
                out["items_path"] = self.path(body["ItemsPath"], f"{ptr}/ItemsPath")
            out["result_selector"] = self.payload_field(body, "ResultSelector", ptr)
            self.result_path(body, ptr, ql, out)
        sel = "ItemSelector" if "ItemSelector" in body else "Parameters"
        if sel in body:
            out["item_selector"] = (
                template(body[sel], f"{ptr}/{sel}", self.errors)
                if ql is QL.JSONATA
                else payload(body[sel], f"{ptr}/{sel}", self.errors)
            )
        for key, attr in (("ItemReader", "item_reader"), ("ResultWriter", "result_writer")):
            if key in body:
                if not isinstance(body[key], Mapping) or not isinstance(body[key].get("Resource"), str):
                    self.errors.schema("These fields are required: [Resource]", f"{ptr}/{key}")
                else:
                    out[attr] = dict(body[key])
        if isinstance(body.get("ItemBatcher"), Mapping):
            out["item_batcher"] = dict(body["ItemBatcher"])
        self.int_or_expr(body, "MaxConcurrency", ptr, ql, out, "max_concurrency")
        self.int_or_expr(body, "ToleratedFailureCount", ptr, ql, out, "tolerated_failure_count")
        self.int_or_expr(
            body, "ToleratedFailurePercentage", ptr, ql, out, "tolerated_failure_percentage", number=True
        )
        pct = out.get("tolerated_failure_percentage")
        if isinstance(pct, int | float) and pct > 100:
            self.errors.schema("Expected value of type: NUMBER (<= 100)", f"{ptr}/ToleratedFailurePercentage")
        out["label"] = body.get("Label")
        out["retry"] = self.retriers(body, ptr)
        out["catch"] = self.catchers(body, ptr, ql)
        return m.MapState(**out)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
