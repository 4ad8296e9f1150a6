"""Resolving intrinsic functions across the stacks of one assembly: lazily, memoized, cycle-checked.

A ``Ref`` asks for a physical id, which may ask for a property (``FunctionName``), which may ask for
another ``Ref``... Each memo key is pushed on an "active" chain while it is computed, so a cycle raises
``ResolutionError`` naming the whole chain instead of recursing forever. Template order never matters.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncgate.local.arns import DEFAULT_ACCOUNT, DEFAULT_REGION, PARTITION, arn
from asyncgate.local.assembly.manifest import StackSource, cdk_paths, read_assets, read_json
from asyncgate.local.assembly.model import AssemblyError, ResolutionError, Resource, Stack
from asyncgate.local.assembly.naming import NO_VALUE, URL_SUFFIX, cfn_text
from asyncgate.local.assembly.physical import ResourceView, generic_arn

__all__ = ["CDK_BOOTSTRAP_VERSION", "Resolver", "StackState"]

log = logging.getLogger("asyncgate.local.assembly")

#: What ``{"Ref": "BootstrapVersion"}`` reads from SSM on a bootstrapped account. Only CDK's
#: ``CheckBootstrapVersion`` rule uses it; any version >= 6 passes that rule.
CDK_BOOTSTRAP_VERSION = "30"


@dataclass(slots=True)
class StackState:
    """One stack's raw template sections while it is being resolved."""

    name: str
    source: StackSource
    resources: dict[str, dict[str, Any]]
    parameters: dict[str, dict[str, Any]]
    conditions: dict[str, Any]
    mappings: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    assets: dict[str, Path]

    @classmethod
    def from_source(cls, root: Path, source: StackSource) -> StackState:
        template = read_json(source.template)
        if not isinstance(template, dict):
            raise AssemblyError(f"{source.template}: a template must be a JSON object")
        return cls(
            name=source.name,
            source=source,
            resources=template.get("Resources") or {},
            parameters=template.get("Parameters") or {},
            conditions=template.get("Conditions") or {},
            mappings=template.get("Mappings") or {},
            outputs=template.get("Outputs") or {},
            assets=read_assets(root, source),
        )


def cfn_equals(a: Any, b: Any) -> bool:
    """``Fn::Equals``: CloudFormation compares the string forms (``"1"`` equals ``1``)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(cfn_equals(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return bool(a == b)
    return cfn_text(a) == cfn_text(b)



_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_Key = tuple[Hashable, ...]


class Resolver:
    """Resolves intrinsics across all stacks of one assembly, lazily, memoized, cycle-checked."""

    def __init__(self, stacks: list[StackState], overrides: Mapping[str, str | list[str]]) -> None:
        self.stacks = stacks
        self._overrides = overrides
        self._done: dict[_Key, Any] = {}
        self._active: dict[_Key, None] = {}  # insertion-ordered: the chain being computed
        self._attributes_asked: dict[tuple[str, str], set[str]] = {}
        self._intrinsics: dict[str, Callable[[StackState, Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Sub": self._sub,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._truth_fn,
            "Fn::And": self._truth_fn,
            "Fn::Or": self._truth_fn,
            "Fn::Not": self._truth_fn,
            "Fn::GetAZs": self._get_azs,
            "Fn::Base64": lambda st, arg: base64.b64encode(cfn_text(self.value(st, arg)).encode()).decode(),
            "Fn::ImportValue": lambda st, arg: self._import(cfn_text(self.value(st, arg))),
            "Fn::FindInMap": self._find_in_map,
            "Fn::Length": lambda st, arg: len(self._list(st, arg, "Fn::Length")),
            "Fn::ToJsonString": lambda st, arg: json.dumps(self.value(st, arg), separators=(",", ":")),
            "Fn::Cidr": self._cidr,
        }

    # memoization and cycle detection ---------------------------------------------------------------------
    def _memo(self, key: _Key, compute: Callable[[], Any]) -> Any:
        try:
            return self._done[key]
        except KeyError:
            pass
        if key in self._active:
            chain = [*list(self._active)[list(self._active).index(key) :], key]
            error = ResolutionError("circular reference: " + " -> ".join(_describe(k) for k in chain))
            error.located = True
            raise error
        self._active[key] = None
        try:
            result = compute()
        except ResolutionError as exc:
            if not exc.located:
                where = " -> ".join(_describe(k) for k in self._active)  # outermost first
                exc.args = (f"{where}: {exc.args[0]}",)
                exc.located = True
            raise
        finally:
            del self._active[key]
        self._done[key] = result
        return result

    # values -----------------------------------------------------------------------------------------------
    def value(self, st: StackState, v: Any) -> Any:
        """Resolve every intrinsic in ``v``; ``AWS::NoValue`` removes its key or element."""
        if isinstance(v, dict):
            if len(v) == 1:
                ((k, arg),) = v.items()
                fn = self._intrinsics.get(k)
                if fn is not None:
                    return fn(st, arg)
                if k.startswith("Fn::"):
                    raise ResolutionError(f"{k} is not supported by asyncgate's template resolver")
            out = {}
            for k, x in v.items():
                r = self.value(st, x)
                if r is not NO_VALUE:
                    out[k] = r
            return out
        if isinstance(v, list):
            return [r for x in v if (r := self.value(st, x)) is not NO_VALUE]
        return v

    def _list(self, st: StackState, arg: Any, fn: str) -> list[Any]:
        value = self.value(st, arg)
        if not isinstance(value, list):
            raise ResolutionError(f"{fn} expects a list, got {value!r}")
        return value

    def _args(self, arg: Any, fn: str, count: int) -> list[Any]:
        if not isinstance(arg, list) or len(arg) != count:
            raise ResolutionError(f"{fn} takes a list of {count} arguments, got {arg!r}")
        return arg

    def _ref(self, st: StackState, arg: Any) -> Any:
        name = cfn_text(self.value(st, arg))
        if name.startswith("AWS::"):
            return self._pseudo(st, name)
        if name in st.parameters:
            return self.parameter(st, name)
        if name in st.resources:
            return self.physical_id(st, name)
        raise ResolutionError(f"Ref to {name!r}, which is neither a parameter nor a resource of {st.name}")

    def _pseudo(self, st: StackState, name: str) -> Any:
        match name:
            case "AWS::Region":
                return DEFAULT_REGION
            case "AWS::AccountId":
                return DEFAULT_ACCOUNT
            case "AWS::Partition":
                return PARTITION
            case "AWS::URLSuffix":
                return URL_SUFFIX
            case "AWS::StackName":
                return st.name
            case "AWS::StackId":
                stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"asyncgate:stack/{st.name}")
                return arn("cloudformation", f"stack/{st.name}/{stack_uuid}")
            case "AWS::NotificationARNs":
                return []
            case "AWS::NoValue":
                return NO_VALUE
        raise ResolutionError(f"unknown pseudo parameter {name}")

    def _get_att(self, st: StackState, arg: Any) -> Any:
        if isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        else:
            logical_id, attribute = self._args(arg, "Fn::GetAtt", 2)
            attribute = cfn_text(self.value(st, attribute))
        if logical_id not in st.resources:
            raise ResolutionError(f"Fn::GetAtt on {logical_id!r}, which is not a resource of {st.name}")
        return self.attribute(st, logical_id, attribute)

    def _join(self, st: StackState, arg: Any) -> str:
        delimiter, items = self._args(arg, "Fn::Join", 2)
        return cfn_text(delimiter).join(cfn_text(x) for x in self._list(st, items, "Fn::Join"))

    def _sub(self, st: StackState, arg: Any) -> str:
        if isinstance(arg, list):
            template, variables = self._args(arg, "Fn::Sub", 2)
            bound = {k: self.value(st, v) for k, v in variables.items()}
        else:
            template, bound = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match[1]
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in bound:
                return cfn_text(bound[name])
            if "." in name and not name.startswith("AWS::"):
                return cfn_text(self._get_att(st, name))
            return cfn_text(self._ref(st, name))

        return _SUB_VAR.sub(replace, cfn_text(template))

    def _select(self, st: StackState, arg: Any) -> Any:
        index, items = self._args(arg, "Fn::Select", 2)
        i = int(cfn_text(self.value(st, index)))
        values = self._list(st, items, "Fn::Select")
        if not 0 <= i < len(values):
            raise ResolutionError(f"Fn::Select index {i} is out of range for {values!r}")
        return values[i]

    def _split(self, st: StackState, arg: Any) -> list[str]:
        delimiter, source = self._args(arg, "Fn::Split", 2)
        return cfn_text(self.value(st, source)).split(cfn_text(delimiter))

    def _if(self, st: StackState, arg: Any) -> Any:
        name, then, otherwise = self._args(arg, "Fn::If", 3)
        return self.value(st, then if self.condition(st, cfn_text(name)) else otherwise)

    def _truth_fn(self, st: StackState, arg: Any) -> bool:
        raise ResolutionError("condition functions belong in Conditions or Fn::If, not in a value")

    def _get_azs(self, st: StackState, arg: Any) -> list[str]:
        region = cfn_text(self.value(st, arg)) or DEFAULT_REGION
        letters = "abcdef" if region == "us-east-1" else "abc"
        return [f"{region}{c}" for c in letters]

    def _find_in_map(self, st: StackState, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            raise ResolutionError(f"Fn::FindInMap takes [map, top key, second key], got {arg!r}")
        names = [cfn_text(self.value(st, a)) for a in arg[:3]]
        try:
            return self.value(st, st.mappings[names[0]][names[1]][names[2]])
        except KeyError:
            if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.value(st, arg[3]["DefaultValue"])
            raise ResolutionError(f"Fn::FindInMap: no {names} in Mappings") from None

    def _cidr(self, st: StackState, arg: Any) -> list[str]:
        block, count, bits = (self.value(st, a) for a in self._args(arg, "Fn::Cidr", 3))
        network = ipaddress.ip_network(cfn_text(block), strict=False)
        subnets = network.subnets(new_prefix=network.max_prefixlen - int(cfn_text(bits)))
        return [str(next(subnets)) for _ in range(int(cfn_text(count)))]

    # parameters, conditions, exports ---------------------------------------------------------------------
    def parameter(self, st: StackState, name: str) -> Any:
        return self._memo(("param", st.name, name), lambda: self._parameter(st, name))

    def _parameter(self, st: StackState, name: str) -> Any:
        decl = st.parameters[name]
        kind = str(decl.get("Type", "String"))
        for key in (f"{st.name}.{name}", name):
            if key in self._overrides:
                raw: Any = self._overrides[key]
                break
        else:
            if "Default" not in decl:
                raise ResolutionError(
                    f"parameter {name} of {st.name} has no Default; pass parameters={{{name!r}: ...}}"
                )
            raw = decl["Default"]
            if kind.startswith("AWS::SSM::Parameter::Value<"):
                raw = _ssm_value(st.name, name, str(raw))
        if (kind == "CommaDelimitedList" or kind.startswith("List<")) and isinstance(raw, str):
            return raw.split(",")
        return raw if isinstance(raw, list) else cfn_text(raw)

    def condition(self, st: StackState, name: str) -> bool:
        if name not in st.conditions:
            raise ResolutionError(f"no Condition named {name!r} in {st.name}")
        return bool(self._memo(("cond", st.name, name), lambda: self._truth(st, st.conditions[name])))

    def _truth(self, st: StackState, expr: Any) -> bool:
        if isinstance(expr, bool):
            return expr
        if isinstance(expr, str) and expr.lower() in ("true", "false"):
            return expr.lower() == "true"
        if not (isinstance(expr, dict) and len(expr) == 1):
            raise ResolutionError(f"not a condition expression: {expr!r}")
        ((fn, arg),) = expr.items()
        match fn:
            case "Condition":
                return self.condition(st, cfn_text(arg))
            case "Fn::Equals":
                a, b = self._args(arg, fn, 2)
                return cfn_equals(self.value(st, a), self.value(st, b))
            case "Fn::And":
                return all(self._truth(st, x) for x in arg)
            case "Fn::Or":
                return any(self._truth(st, x) for x in arg)
            case "Fn::Not":
                return not self._truth(st, self._args(arg, fn, 1)[0])
        raise ResolutionError(f"{fn} is not a condition function")

    def _export_index(self) -> dict[str, tuple[StackState, str]]:
        def build() -> dict[str, tuple[StackState, str]]:
            index: dict[str, tuple[StackState, str]] = {}
            for st in self.stacks:
                for out_name, out in st.outputs.items():
                    if "Export" in out and self._output_created(st, out):
                        index[cfn_text(self.value(st, out["Export"]["Name"]))] = (st, out_name)
            return index

        return dict(self._memo(("exports",), build))

    def _import(self, name: str) -> Any:
        index = self._export_index()
        if name not in index:
            raise ResolutionError(f"Fn::ImportValue {name!r}: no stack exports it (exports: {sorted(index)})")
        st, out_name = index[name]
        return self.output(st, out_name)

    def _output_created(self, st: StackState, out: Mapping[str, Any]) -> bool:
        return "Condition" not in out or self.condition(st, cfn_text(out["Condition"]))

    def output(self, st: StackState, name: str) -> Any:
        return self._memo(("output", st.name, name), lambda: self.value(st, st.outputs[name].get("Value")))

    def exports(self) -> dict[str, Any]:
        return {name: self.output(st, out) for name, (st, out) in self._export_index().items()}

    # resources --------------------------------------------------------------------------------------------
    def created(self, st: StackState, logical_id: str) -> bool:
        condition = st.resources[logical_id].get("Condition")
        return condition is None or self.condition(st, cfn_text(condition))

    def _view(self, st: StackState, logical_id: str) -> ResourceView:
        if not self.created(st, logical_id):
            condition = st.resources[logical_id]["Condition"]
            raise ResolutionError(f"{logical_id} is not created (its Condition {condition} is false)")
        return ResourceView(self, st, logical_id)

    def physical_id(self, st: StackState, logical_id: str) -> str:
        def compute() -> str:
            view = self._view(st, logical_id)
            return view.spec.ref(view)

        return str(self._memo(("ref", st.name, logical_id), compute))

    def attribute(self, st: StackState, logical_id: str, name: str) -> Any:
        self._attributes_asked.setdefault((st.name, logical_id), set()).add(name)

        def compute() -> Any:
            view = self._view(st, logical_id)
            getter = view.spec.attrs.get(name)
            if getter is not None:
                return getter(view)
            if name == "Arn":
                return generic_arn(view)
            # Unknown attribute (custom resources, rarely used ones): a stable placeholder, no crash.
            return f"{self.physical_id(st, logical_id)}.{name}"

        return self._memo(("att", st.name, logical_id, name), compute)

    def prop(self, st: StackState, logical_id: str, name: str) -> Any:
        raw = st.resources[logical_id].get("Properties") or {}
        if name not in raw:
            return None
        return self._memo(("prop", st.name, logical_id, name), lambda: self.value(st, raw[name]))

    def build_stack(self, st: StackState) -> Stack:
        paths: dict[str, str] | None = None
        resources: dict[str, Resource] = {}
        for logical_id, raw in st.resources.items():
            if not self.created(st, logical_id):
                continue
            view = ResourceView(self, st, logical_id)
            properties = {
                k: v
                for k in (raw.get("Properties") or {})
                if (v := self.prop(st, logical_id, k)) is not NO_VALUE
            }
            path = (raw.get("Metadata") or {}).get("aws:cdk:path")
            if path is None:
                paths = cdk_paths(st.source) if paths is None else paths
                path = paths.get(logical_id, "")
            attributes = {a: self.attribute(st, logical_id, a) for a in view.spec.attrs}
            for extra in sorted(self._attributes_asked.get((st.name, logical_id), ())):
                attributes.setdefault(extra, self.attribute(st, logical_id, extra))
            resources[logical_id] = Resource(
                logical_id, view.type, properties, self.physical_id(st, logical_id), attributes, str(path)
            )
        outputs = {n: self.output(st, n) for n, o in st.outputs.items() if self._output_created(st, o)}
        return Stack(st.name, resources, st.assets, outputs, self._parameters(st))

    def _parameters(self, st: StackState) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in st.parameters:
            try:
                values[name] = self.parameter(st, name)
            except ResolutionError:
                continue  # no default and never referenced: CloudFormation would ask at deploy time
        return values


def _ssm_value(stack: str, name: str, ssm_name: str) -> str:
    if re.fullmatch(r"/cdk-bootstrap/[^/]+/version", ssm_name):
        return CDK_BOOTSTRAP_VERSION
    raise ResolutionError(
        f"parameter {name} of {stack} reads SSM parameter {ssm_name!r}, which does not exist locally; "
        f"pass parameters={{{name!r}: ...}}"
    )


def _describe(key: _Key) -> str:
    match key:
        case ("ref", stack, lid):
            return f"{stack}/{lid} (Ref)"
        case ("att", stack, lid, attr):
            return f"{stack}/{lid}.{attr}"
        case ("prop", stack, lid, name):
            return f"{stack}/{lid}.Properties.{name}"
        case ("cond", stack, name):
            return f"{stack} Condition {name}"
        case ("param", stack, name):
            return f"{stack} parameter {name}"
        case ("output", stack, name):
            return f"{stack} output {name}"
    return "/".join(map(str, key))

