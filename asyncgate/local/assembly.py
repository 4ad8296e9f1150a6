"""Read a synthesized CDK cloud assembly (``cdk.out``) into resolved resources.

Why hand-written: no maintained Python library turns a cloud assembly into *physical* resources.
cfn-lint and cfn-flip parse templates but leave ``Ref``/``Fn::GetAtt`` alone (they have no account to
resolve them against), and CloudFormation itself resolves them only on deploy. The local runtime needs
what CloudFormation would have produced: a function's name, a state machine's ARN, a definition string
with the real Lambda ARN spliced in. So this module plays CloudFormation for one pretend account
(``asyncgate.local.arns``): it reads ``manifest.json`` (and nested assemblies from ``cdk.Stage``), each
stack template and its ``<stack>.assets.json``, and resolves every intrinsic function.

Internals, in order:

1. ``_read_manifest`` walks the manifest (recursing into ``cdk:cloud-assembly`` artifacts) and yields
   one ``_StackSource`` per ``aws:cloudformation:stack`` artifact; every path it follows must stay
   inside ``cdk.out`` (``AssetPathError`` otherwise).
2. ``_Resolver`` resolves lazily with memoization: a ``Ref`` asks for a physical id, which may ask for a
   property (``FunctionName``), which may ask for another ``Ref``... Each memo key is pushed on an
   "active" chain while it is computed, so a cycle raises ``ResolutionError`` naming the whole chain
   instead of recursing forever. Template order never matters.
3. Physical ids come from ``_TYPES`` (one ``_TypeSpec`` per CloudFormation type): explicit names are
   kept; generated names are CloudFormation's ``<stack>-<logicalId>-<13 uppercase alnum>`` with the
   random part replaced by a hash of (stack name, logical id), so ids, and the ARNs durable executions
   store, survive restarts. Unknown types get a generic spec and are listed in ``Assembly.unsupported``.

Example:
    >>> assembly = load_assembly(Path("cdk.out"))                      # doctest: +SKIP
    >>> fn = assembly.stack("MyStack").of_type("AWS::Lambda::Function")[0]  # doctest: +SKIP
    >>> fn.attributes["Arn"]                                            # doctest: +SKIP
    'arn:aws:lambda:us-east-1:000000000000:function:my-function'
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncgate.local.arns import DEFAULT_ACCOUNT, DEFAULT_REGION, PARTITION, arn, global_arn

__all__ = [
    "SERVED_TYPES",
    "Assembly",
    "AssemblyError",
    "AssetPathError",
    "ResolutionError",
    "Resource",
    "Stack",
    "load_assembly",
    "state_machine_definition",
]

log = logging.getLogger(__name__)

#: Resource types the local runtime serves. Every other type is still resolved (so a ``Ref`` to it
#: works) but is counted in ``Assembly.unsupported``. ``AWS::CDK::Metadata`` (CDK's version analytics)
#: has no behaviour at all and is neither served nor reported.
SERVED_TYPES: frozenset[str] = frozenset(
    {
        "AWS::Lambda::Function",
        "AWS::Lambda::Permission",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::RolePolicy",
        "AWS::StepFunctions::StateMachine",
        "AWS::Logs::LogGroup",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::Account",
        "AWS::ApiGateway::Model",
        "AWS::ApiGateway::RequestValidator",
        "AWS::ApiGateway::GatewayResponse",
        "AWS::ApiGateway::Authorizer",
        "AWS::ApiGateway::ApiKey",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::UsagePlanKey",
    }
)
_SILENT_TYPES = frozenset({"AWS::CDK::Metadata"})

#: What ``{"Ref": "BootstrapVersion"}`` reads from SSM on a bootstrapped account. Only CDK's
#: ``CheckBootstrapVersion`` rule uses it; any version >= 6 passes that rule.
CDK_BOOTSTRAP_VERSION = "30"
_URL_SUFFIX = "amazonaws.com"
_UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_MIXED_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


# -- the data model (the contract the runtime codes against) ---------------------------------------------
@dataclass(frozen=True, slots=True)
class Resource:
    """One CloudFormation resource with every intrinsic function resolved.

    ``properties`` holds plain JSON (no ``Ref``/``Fn::*`` left). ``physical_id`` is what ``Ref`` returns
    (a function's name, a state machine's ARN, a role's name, a RestApi's id, ...). ``attributes`` holds
    what ``Fn::GetAtt`` returns (``Arn``, ``RootResourceId``, ``Name``, ...).
    """

    logical_id: str
    type: str
    properties: dict[str, Any]
    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    #: the CDK construct path (``Metadata['aws:cdk:path']``), for messages
    path: str = ""


@dataclass(frozen=True, slots=True)
class Stack:
    """One stack of the assembly: its resources by logical id, and where its assets live."""

    name: str
    resources: dict[str, Resource]
    #: asset hash (the ``S3Key`` without ``.zip``) -> unpacked folder in ``cdk.out``
    assets: dict[str, Path]
    #: resolved ``Outputs`` values by output name (outputs whose Condition is false are left out)
    outputs: dict[str, Any] = field(default_factory=dict)
    #: resolved parameter values (overrides, else ``Default``) by parameter name
    parameters: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Resource]:
        """The stack's resources of one CloudFormation type, in template order."""
        return [r for r in self.resources.values() if r.type == type_]


@dataclass(frozen=True, slots=True)
class Assembly:
    """A loaded cloud assembly."""

    directory: Path
    stacks: list[Stack]
    #: resource types present but not served locally, with a count (logged once at start-up)
    unsupported: dict[str, int]
    #: ``Export`` name -> value, across all stacks (what ``Fn::ImportValue`` reads)
    exports: dict[str, Any] = field(default_factory=dict)

    def stack(self, name: str) -> Stack:
        """The stack named ``name`` (its CloudFormation stack name); ``KeyError`` when absent."""
        for stack in self.stacks:
            if stack.name == name:
                return stack
        raise KeyError(f"no stack {name!r} in the assembly (stacks: {[s.name for s in self.stacks]})")


class AssemblyError(Exception):
    """The cloud assembly cannot be read: missing files, bad JSON, an unsupported layout."""


class ResolutionError(AssemblyError):
    """An intrinsic function cannot be resolved: a dangling ``Ref``, a cycle, a bad argument."""

    #: set once the message names the resource, property or condition being resolved
    located: bool = False


class AssetPathError(AssemblyError):
    """A path in the manifest or an asset manifest points outside the ``cdk.out`` directory."""


# -- public entry points -----------------------------------------------------------------------------------
def load_assembly(
    directory: Path | str, *, parameters: Mapping[str, str | list[str]] | None = None
) -> Assembly:
    """Read ``directory`` (a ``cdk.out``) and resolve every stack in it.

    ``parameters`` overrides CfnParameter values: ``"Name"`` applies to every stack that declares it,
    ``"StackName.Name"`` to one stack (and wins). Parameters not overridden take their ``Default``.

    Example:
        >>> load_assembly("cdk.out").stack("MyStack").resources["Fn9270CBC0"].physical_id  # doctest: +SKIP
        'MyStack-Fn9270CBC0-4KZ2Q0J7XW3ND'
    """
    root = Path(directory).resolve()
    sources = list(_read_manifest(root, root))
    names = Counter(s.name for s in sources)
    if duplicated := [n for n, c in names.items() if c > 1]:
        raise AssemblyError(f"{root}: several stacks are named {duplicated}; stack names must be unique")
    resolver = _Resolver([_StackState.from_source(root, s) for s in sources], parameters or {})
    stacks = [resolver.build_stack(state) for state in resolver.stacks]
    unsupported: Counter[str] = Counter(
        r.type
        for s in stacks
        for r in s.resources.values()
        if r.type not in SERVED_TYPES and r.type not in _SILENT_TYPES
    )
    return Assembly(root, stacks, dict(sorted(unsupported.items())), resolver.exports())


def state_machine_definition(resource: Resource) -> str:
    """The definition CloudFormation would hand Step Functions for an ``AWS::StepFunctions::StateMachine``.

    That is ``DefinitionString`` (or ``Definition`` serialized) with ``DefinitionSubstitutions``
    applied, as CloudFormation does on deploy.

    Example:
        >>> r = Resource("M", "AWS::StepFunctions::StateMachine", {"DefinitionString": '{"a": "${x}"}',
        ...              "DefinitionSubstitutions": {"x": "y"}}, "arn")
        >>> state_machine_definition(r)
        '{"a": "y"}'
    """
    props = resource.properties
    text = props.get("DefinitionString")
    if text is None:
        text = json.dumps(props.get("Definition", {}), separators=(",", ":"))
    subs: Mapping[str, Any] = props.get("DefinitionSubstitutions") or {}
    if not subs:
        return str(text)
    return re.sub(r"\$\{([^}]+)\}", lambda m: _text(subs[m[1]]) if m[1] in subs else m[0], str(text))


# -- reading the manifest ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _StackSource:
    """Where one stack artifact's files are (all inside the assembly root)."""

    name: str
    directory: Path
    template: Path
    assets_file: Path | None
    metadata_file: Path | None
    inline_metadata: dict[str, Any]


def _inside(root: Path, base: Path, relative: str, what: str) -> Path:
    """``base / relative``, resolved, refusing anything that leaves ``root`` (``..``, absolute, symlinks)."""
    path = (base / relative).resolve()
    if not path.is_relative_to(root):
        raise AssetPathError(
            f"{what} path {relative!r} resolves to {path}, outside the cloud assembly {root}; refusing to "
            "read it (was the assembly synthesized with asset staging disabled, or tampered with?)"
        )
    return path


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as f:
            return json.load(f)
    except FileNotFoundError as exc:
        raise AssemblyError(f"{path} is missing; is this a complete `cdk synth` output?") from exc
    except json.JSONDecodeError as exc:
        raise AssemblyError(f"{path} is not valid JSON: {exc}") from exc


def _read_manifest(root: Path, directory: Path, depth: int = 0) -> Iterator[_StackSource]:
    """Yield the stack artifacts of ``directory/manifest.json``, nested assemblies in place."""
    if depth > 16:
        raise AssemblyError(f"{directory}: nested assemblies more than 16 deep")
    if not (directory / "manifest.json").is_file():
        raise AssemblyError(f"{directory} has no manifest.json; is it a cdk.out directory? (run `cdk synth`)")
    artifacts: dict[str, Any] = _read_json(directory / "manifest.json").get("artifacts", {})
    for artifact_id, artifact in artifacts.items():
        kind = artifact.get("type")
        props = artifact.get("properties", {})
        if kind == "cdk:cloud-assembly":
            nested = _inside(root, directory, props["directoryName"], "nested assembly")
            yield from _read_manifest(root, nested, depth + 1)
        elif kind == "aws:cloudformation:stack":
            yield _stack_source(root, directory, artifact_id, artifact, artifacts)


def _stack_source(
    root: Path, directory: Path, artifact_id: str, artifact: dict[str, Any], artifacts: dict[str, Any]
) -> _StackSource:
    props = artifact.get("properties", {})
    assets_file: Path | None = None
    for dep in artifact.get("dependencies", []):
        dep_artifact = artifacts.get(dep, {})
        if dep_artifact.get("type") == "cdk:asset-manifest":
            assets_file = _inside(root, directory, dep_artifact["properties"]["file"], "asset manifest")
    metadata = artifact.get("additionalMetadataFile")
    return _StackSource(
        name=props.get("stackName", artifact_id),
        directory=directory,
        template=_inside(root, directory, props["templateFile"], "template"),
        assets_file=assets_file,
        metadata_file=_inside(root, directory, metadata, "metadata") if metadata else None,
        inline_metadata=artifact.get("metadata", {}),
    )


def _read_assets(root: Path, source: _StackSource) -> dict[str, Path]:
    """Asset hash (and object key without ``.zip``) -> folder or file, from ``<stack>.assets.json``."""
    if source.assets_file is None or not source.assets_file.is_file():
        return {}
    assets: dict[str, Path] = {}
    for asset_hash, asset in _read_json(source.assets_file).get("files", {}).items():
        src = asset.get("source", {})
        if "path" not in src:  # built by an executable: nothing on disk to serve
            continue
        path = _inside(root, source.assets_file.parent, src["path"], f"asset {asset_hash}")
        if not path.exists():
            raise AssemblyError(f"asset {asset_hash} of stack {source.name}: {path} does not exist")
        assets[asset_hash] = path
        for dest in asset.get("destinations", {}).values():
            key = str(dest.get("objectKey", ""))
            if key.endswith(".zip"):
                assets.setdefault(key[: -len(".zip")], path)
    return assets


def _cdk_paths(source: _StackSource) -> dict[str, str]:
    """logical id -> construct path, from the metadata the CDK writes beside the template."""
    entries = dict(source.inline_metadata)
    if source.metadata_file is not None and source.metadata_file.is_file():
        entries.update(_read_json(source.metadata_file))
    paths: dict[str, str] = {}
    for path, items in entries.items():
        for item in items:
            if item.get("type") == "aws:cdk:logicalId":
                paths[str(item.get("data"))] = path.lstrip("/")
    return paths


# -- resolution --------------------------------------------------------------------------------------------
class _NoValue:
    """``AWS::NoValue``: the key or list element holding it disappears."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


@dataclass(slots=True)
class _StackState:
    """One stack's raw template sections while it is being resolved."""

    name: str
    source: _StackSource
    resources: dict[str, dict[str, Any]]
    parameters: dict[str, dict[str, Any]]
    conditions: dict[str, Any]
    mappings: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    assets: dict[str, Path]

    @classmethod
    def from_source(cls, root: Path, source: _StackSource) -> _StackState:
        template = _read_json(source.template)
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
            assets=_read_assets(root, source),
        )


def _token(alphabet: str, length: int, *parts: str) -> str:
    """``length`` characters of ``alphabet`` derived from a hash of ``parts``: random-looking, stable."""
    n = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest(), "big")
    out = []
    for _ in range(length):
        n, i = divmod(n, len(alphabet))
        out.append(alphabet[i])
    return "".join(out)


def _generated_name(stack: str, logical_id: str, max_len: int, *, lower: bool = False) -> str:
    """CloudFormation's ``<stack>-<logicalId>-<13 random>``, truncated to ``max_len``, hash for random."""
    suffix = _token(_UPPER_ALNUM, 13, stack, logical_id)
    budget = max(max_len - len(suffix) - 2, 2)
    s, lid = stack, logical_id
    if len(s) + len(lid) > budget:
        s = s[: max(budget // 2, budget - len(lid))]
        lid = lid[: budget - len(s)]
    name = f"{s}-{lid}-{suffix}"
    return name.lower() if lower else name


def _text(value: Any) -> str:
    """A resolved scalar as CloudFormation's string (``true``, ``3``); lists and objects are errors."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ResolutionError(f"expected a string, got {type(value).__name__} {value!r}")


def _same(a: Any, b: Any) -> bool:
    """``Fn::Equals``: CloudFormation compares the string forms (``"1"`` equals ``1``)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return bool(a == b)
    return _text(a) == _text(b)


_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_Key = tuple[Hashable, ...]


class _Resolver:
    """Resolves intrinsics across all stacks of one assembly, lazily, memoized, cycle-checked."""

    def __init__(self, stacks: list[_StackState], overrides: Mapping[str, str | list[str]]) -> None:
        self.stacks = stacks
        self._overrides = overrides
        self._done: dict[_Key, Any] = {}
        self._active: dict[_Key, None] = {}  # insertion-ordered: the chain being computed
        self._attributes_asked: dict[tuple[str, str], set[str]] = {}
        self._intrinsics: dict[str, Callable[[_StackState, Any], Any]] = {
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
            "Fn::Base64": lambda st, arg: base64.b64encode(_text(self.value(st, arg)).encode()).decode(),
            "Fn::ImportValue": lambda st, arg: self._import(_text(self.value(st, arg))),
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
    def value(self, st: _StackState, v: Any) -> Any:
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
                if r is not _NO_VALUE:
                    out[k] = r
            return out
        if isinstance(v, list):
            return [r for x in v if (r := self.value(st, x)) is not _NO_VALUE]
        return v

    def _list(self, st: _StackState, arg: Any, fn: str) -> list[Any]:
        value = self.value(st, arg)
        if not isinstance(value, list):
            raise ResolutionError(f"{fn} expects a list, got {value!r}")
        return value

    def _args(self, arg: Any, fn: str, count: int) -> list[Any]:
        if not isinstance(arg, list) or len(arg) != count:
            raise ResolutionError(f"{fn} takes a list of {count} arguments, got {arg!r}")
        return arg

    def _ref(self, st: _StackState, arg: Any) -> Any:
        name = _text(self.value(st, arg))
        if name.startswith("AWS::"):
            return self._pseudo(st, name)
        if name in st.parameters:
            return self.parameter(st, name)
        if name in st.resources:
            return self.physical_id(st, name)
        raise ResolutionError(f"Ref to {name!r}, which is neither a parameter nor a resource of {st.name}")

    def _pseudo(self, st: _StackState, name: str) -> Any:
        match name:
            case "AWS::Region":
                return DEFAULT_REGION
            case "AWS::AccountId":
                return DEFAULT_ACCOUNT
            case "AWS::Partition":
                return PARTITION
            case "AWS::URLSuffix":
                return _URL_SUFFIX
            case "AWS::StackName":
                return st.name
            case "AWS::StackId":
                stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"asyncgate:stack/{st.name}")
                return arn("cloudformation", f"stack/{st.name}/{stack_uuid}")
            case "AWS::NotificationARNs":
                return []
            case "AWS::NoValue":
                return _NO_VALUE
        raise ResolutionError(f"unknown pseudo parameter {name}")

    def _get_att(self, st: _StackState, arg: Any) -> Any:
        if isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        else:
            logical_id, attribute = self._args(arg, "Fn::GetAtt", 2)
            attribute = _text(self.value(st, attribute))
        if logical_id not in st.resources:
            raise ResolutionError(f"Fn::GetAtt on {logical_id!r}, which is not a resource of {st.name}")
        return self.attribute(st, logical_id, attribute)

    def _join(self, st: _StackState, arg: Any) -> str:
        delimiter, items = self._args(arg, "Fn::Join", 2)
        return _text(delimiter).join(_text(x) for x in self._list(st, items, "Fn::Join"))

    def _sub(self, st: _StackState, arg: Any) -> str:
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
                return _text(bound[name])
            if "." in name and not name.startswith("AWS::"):
                return _text(self._get_att(st, name))
            return _text(self._ref(st, name))

        return _SUB_VAR.sub(replace, _text(template))

    def _select(self, st: _StackState, arg: Any) -> Any:
        index, items = self._args(arg, "Fn::Select", 2)
        i = int(_text(self.value(st, index)))
        values = self._list(st, items, "Fn::Select")
        if not 0 <= i < len(values):
            raise ResolutionError(f"Fn::Select index {i} is out of range for {values!r}")
        return values[i]

    def _split(self, st: _StackState, arg: Any) -> list[str]:
        delimiter, source = self._args(arg, "Fn::Split", 2)
        return _text(self.value(st, source)).split(_text(delimiter))

    def _if(self, st: _StackState, arg: Any) -> Any:
        name, then, otherwise = self._args(arg, "Fn::If", 3)
        return self.value(st, then if self.condition(st, _text(name)) else otherwise)

    def _truth_fn(self, st: _StackState, arg: Any) -> bool:
        raise ResolutionError("condition functions belong in Conditions or Fn::If, not in a value")

    def _get_azs(self, st: _StackState, arg: Any) -> list[str]:
        region = _text(self.value(st, arg)) or DEFAULT_REGION
        letters = "abcdef" if region == "us-east-1" else "abc"
        return [f"{region}{c}" for c in letters]

    def _find_in_map(self, st: _StackState, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            raise ResolutionError(f"Fn::FindInMap takes [map, top key, second key], got {arg!r}")
        names = [_text(self.value(st, a)) for a in arg[:3]]
        try:
            return self.value(st, st.mappings[names[0]][names[1]][names[2]])
        except KeyError:
            if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.value(st, arg[3]["DefaultValue"])
            raise ResolutionError(f"Fn::FindInMap: no {names} in Mappings") from None

    def _cidr(self, st: _StackState, arg: Any) -> list[str]:
        block, count, bits = (self.value(st, a) for a in self._args(arg, "Fn::Cidr", 3))
        network = ipaddress.ip_network(_text(block), strict=False)
        subnets = network.subnets(new_prefix=network.max_prefixlen - int(_text(bits)))
        return [str(next(subnets)) for _ in range(int(_text(count)))]

    # parameters, conditions, exports ---------------------------------------------------------------------
    def parameter(self, st: _StackState, name: str) -> Any:
        return self._memo(("param", st.name, name), lambda: self._parameter(st, name))

    def _parameter(self, st: _StackState, name: str) -> Any:
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
        return raw if isinstance(raw, list) else _text(raw)

    def condition(self, st: _StackState, name: str) -> bool:
        if name not in st.conditions:
            raise ResolutionError(f"no Condition named {name!r} in {st.name}")
        return bool(self._memo(("cond", st.name, name), lambda: self._truth(st, st.conditions[name])))

    def _truth(self, st: _StackState, expr: Any) -> bool:
        if isinstance(expr, bool):
            return expr
        if isinstance(expr, str) and expr.lower() in ("true", "false"):
            return expr.lower() == "true"
        if not (isinstance(expr, dict) and len(expr) == 1):
            raise ResolutionError(f"not a condition expression: {expr!r}")
        ((fn, arg),) = expr.items()
        match fn:
            case "Condition":
                return self.condition(st, _text(arg))
            case "Fn::Equals":
                a, b = self._args(arg, fn, 2)
                return _same(self.value(st, a), self.value(st, b))
            case "Fn::And":
                return all(self._truth(st, x) for x in arg)
            case "Fn::Or":
                return any(self._truth(st, x) for x in arg)
            case "Fn::Not":
                return not self._truth(st, self._args(arg, fn, 1)[0])
        raise ResolutionError(f"{fn} is not a condition function")

    def _export_index(self) -> dict[str, tuple[_StackState, str]]:
        def build() -> dict[str, tuple[_StackState, str]]:
            index: dict[str, tuple[_StackState, str]] = {}
            for st in self.stacks:
                for out_name, out in st.outputs.items():
                    if "Export" in out and self._output_created(st, out):
                        index[_text(self.value(st, out["Export"]["Name"]))] = (st, out_name)
            return index

        return dict(self._memo(("exports",), build))

    def _import(self, name: str) -> Any:
        index = self._export_index()
        if name not in index:
            raise ResolutionError(f"Fn::ImportValue {name!r}: no stack exports it (exports: {sorted(index)})")
        st, out_name = index[name]
        return self.output(st, out_name)

    def _output_created(self, st: _StackState, out: Mapping[str, Any]) -> bool:
        return "Condition" not in out or self.condition(st, _text(out["Condition"]))

    def output(self, st: _StackState, name: str) -> Any:
        return self._memo(("output", st.name, name), lambda: self.value(st, st.outputs[name].get("Value")))

    def exports(self) -> dict[str, Any]:
        return {name: self.output(st, out) for name, (st, out) in self._export_index().items()}

    # resources --------------------------------------------------------------------------------------------
    def created(self, st: _StackState, logical_id: str) -> bool:
        condition = st.resources[logical_id].get("Condition")
        return condition is None or self.condition(st, _text(condition))

    def _view(self, st: _StackState, logical_id: str) -> _View:
        if not self.created(st, logical_id):
            condition = st.resources[logical_id]["Condition"]
            raise ResolutionError(f"{logical_id} is not created (its Condition {condition} is false)")
        return _View(self, st, logical_id)

    def physical_id(self, st: _StackState, logical_id: str) -> str:
        def compute() -> str:
            view = self._view(st, logical_id)
            return view.spec.ref(view)

        return str(self._memo(("ref", st.name, logical_id), compute))

    def attribute(self, st: _StackState, logical_id: str, name: str) -> Any:
        self._attributes_asked.setdefault((st.name, logical_id), set()).add(name)

        def compute() -> Any:
            view = self._view(st, logical_id)
            getter = view.spec.attrs.get(name)
            if getter is not None:
                return getter(view)
            if name == "Arn":
                return _generic_arn(view)
            # Unknown attribute (custom resources, rarely used ones): a stable placeholder, no crash.
            return f"{self.physical_id(st, logical_id)}.{name}"

        return self._memo(("att", st.name, logical_id, name), compute)

    def prop(self, st: _StackState, logical_id: str, name: str) -> Any:
        raw = st.resources[logical_id].get("Properties") or {}
        if name not in raw:
            return None
        return self._memo(("prop", st.name, logical_id, name), lambda: self.value(st, raw[name]))

    def build_stack(self, st: _StackState) -> Stack:
        paths: dict[str, str] | None = None
        resources: dict[str, Resource] = {}
        for logical_id, raw in st.resources.items():
            if not self.created(st, logical_id):
                continue
            view = _View(self, st, logical_id)
            properties = {
                k: v
                for k in (raw.get("Properties") or {})
                if (v := self.prop(st, logical_id, k)) is not _NO_VALUE
            }
            path = (raw.get("Metadata") or {}).get("aws:cdk:path")
            if path is None:
                paths = _cdk_paths(st.source) if paths is None else paths
                path = paths.get(logical_id, "")
            attributes = {a: self.attribute(st, logical_id, a) for a in view.spec.attrs}
            for extra in sorted(self._attributes_asked.get((st.name, logical_id), ())):
                attributes.setdefault(extra, self.attribute(st, logical_id, extra))
            resources[logical_id] = Resource(
                logical_id, view.type, properties, self.physical_id(st, logical_id), attributes, str(path)
            )
        outputs = {n: self.output(st, n) for n, o in st.outputs.items() if self._output_created(st, o)}
        return Stack(st.name, resources, st.assets, outputs, self._parameters(st))

    def _parameters(self, st: _StackState) -> dict[str, Any]:
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


# -- physical ids and attributes per type ------------------------------------------------------------------
class _View:
    """One resource as the type specs see it: its generated name, its (lazily resolved) properties."""

    __slots__ = ("logical_id", "resolver", "spec", "st", "type")

    def __init__(self, resolver: _Resolver, st: _StackState, logical_id: str) -> None:
        self.resolver = resolver
        self.st = st
        self.logical_id = logical_id
        self.type = str(st.resources[logical_id].get("Type", ""))
        self.spec = _TYPES.get(self.type, _GENERIC)

    def prop(self, name: str) -> Any:
        value = self.resolver.prop(self.st, self.logical_id, name)
        return None if value is _NO_VALUE else value

    def required(self, name: str) -> str:
        """A property CloudFormation requires for this type, as a string."""
        value = self.prop(name)
        if value is None:
            raise ResolutionError(f"{self.type} {self.logical_id} has no {name} property, which it requires")
        return _text(value)

    def token(self, alphabet: str, length: int, salt: str = "") -> str:
        return _token(alphabet, length, self.st.name, self.logical_id, salt)

    def uuid(self, salt: str = "") -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"asyncgate:{self.st.name}/{self.logical_id}/{salt}"))

    @property
    def name(self) -> str:
        """The explicit name property if set, else a CloudFormation-style generated name."""
        if self.spec.name_prop is not None and (explicit := self.prop(self.spec.name_prop)) is not None:
            return _text(explicit)
        return _generated_name(self.st.name, self.logical_id, self.spec.max_len, lower=self.spec.lower)

    @property
    def ref(self) -> str:
        return self.resolver.physical_id(self.st, self.logical_id)


def _by_name(view: _View) -> str:
    return view.name


@dataclass(frozen=True, slots=True)
class _TypeSpec:
    """How CloudFormation names one resource type and what its ``Ref`` and ``Fn::GetAtt`` return."""

    name_prop: str | None = None
    max_len: int = 64
    ref: Callable[[_View], str] = _by_name
    attrs: Mapping[str, Callable[[_View], Any]] = field(default_factory=dict)
    lower: bool = False


def _service_of(type_: str) -> str:
    parts = type_.split("::")
    return parts[1].lower() if len(parts) == 3 else "unknown"


def _generic_arn(view: _View) -> str:
    parts = view.type.split("::")
    kind = parts[2][:1].lower() + parts[2][1:] if len(parts) == 3 else "resource"
    return arn(_service_of(view.type), f"{kind}/{view.ref}")


def _generic_name(view: _View) -> str:
    explicit = view.prop("Name")
    if isinstance(explicit, str):
        return explicit
    return _generated_name(view.st.name, view.logical_id, 64)


_GENERIC = _TypeSpec(ref=_generic_name)


def _function_arn(value: Any) -> str:
    text = _text(value)
    return text if text.startswith("arn:") else arn("lambda", f"function:{text}")


def _iam_path(view: _View) -> str:
    return str(view.prop("Path") or "/")


def _queue_name(view: _View) -> str:
    explicit = view.prop("QueueName")
    if explicit is not None:
        return _text(explicit)
    if view.prop("FifoQueue") in (True, "true"):
        return _generated_name(view.st.name, view.logical_id, 75) + ".fifo"
    return _generated_name(view.st.name, view.logical_id, 80)


def _topic_name(view: _View) -> str:
    explicit = view.prop("TopicName")
    if explicit is not None:
        return _text(explicit)
    if view.prop("FifoTopic") in (True, "true"):
        return _generated_name(view.st.name, view.logical_id, 251) + ".fifo"
    return _generated_name(view.st.name, view.logical_id, 256)


def _custom_bus(view: _View) -> str | None:
    bus = view.prop("EventBusName")
    if bus is None:
        return None
    name = _text(bus).rsplit("event-bus/", 1)[-1]
    return None if name == "default" else name


def _rule_ref(view: _View) -> str:
    bus = _custom_bus(view)
    return f"{bus}|{view.name}" if bus else view.name


def _rule_arn(view: _View) -> str:
    bus = _custom_bus(view)
    return arn("events", f"rule/{bus}/{view.name}" if bus else f"rule/{view.name}")


def _revision_id(view: _View) -> str:
    definition = json.dumps([view.prop("DefinitionString"), view.prop("Definition")], sort_keys=True)
    return view.uuid(hashlib.sha256(definition.encode()).hexdigest())


def _state_machine_arn(view: _View) -> str:
    return view.required("StateMachineArn")


def _state_machine_alias_arn(view: _View) -> str:
    """``<state machine ARN>:<alias>``; the machine comes from the version the alias routes to."""
    routes = view.prop("RoutingConfiguration") or [view.prop("DeploymentPreference") or {}]
    version = _text(routes[0].get("StateMachineVersionArn", "")) if routes else ""
    machine = version.rsplit(":", 1)[0] if version.count(":") > 6 else version
    return f"{machine}:{view.name}"


def _s3_bucket_attrs() -> dict[str, Callable[[_View], Any]]:
    r = DEFAULT_REGION
    return {
        "Arn": lambda v: f"arn:{PARTITION}:s3:::{v.ref}",
        "DomainName": lambda v: f"{v.ref}.s3.{_URL_SUFFIX}",
        "RegionalDomainName": lambda v: f"{v.ref}.s3.{r}.{_URL_SUFFIX}",
        "DualStackDomainName": lambda v: f"{v.ref}.s3.dualstack.{r}.{_URL_SUFFIX}",
        "WebsiteURL": lambda v: f"http://{v.ref}.s3-website-{r}.{_URL_SUFFIX}",
    }


def _id6(view: _View) -> str:
    return view.token(_LOWER_ALNUM, 6)


def _id10(view: _View) -> str:
    return view.token(_LOWER_ALNUM, 10)


_STREAM_LABEL = "1970-01-01T00:00:00.000"  # a fixed stream label keeps StreamArn stable across restarts

_TYPES: dict[str, _TypeSpec] = {
    # Lambda
    "AWS::Lambda::Function": _TypeSpec(
        "FunctionName", 64, attrs={"Arn": lambda v: arn("lambda", f"function:{v.ref}")}
    ),
    "AWS::Lambda::Version": _TypeSpec(
        ref=lambda v: f"{_function_arn(v.required('FunctionName'))}:1",
        attrs={"Version": lambda v: "1", "FunctionArn": lambda v: v.ref},
    ),
    "AWS::Lambda::Alias": _TypeSpec(
        ref=lambda v: f"{_function_arn(v.required('FunctionName'))}:{v.required('Name')}",
        attrs={"AliasArn": lambda v: v.ref},
    ),
    "AWS::Lambda::EventSourceMapping": _TypeSpec(
        ref=lambda v: v.uuid(),
        attrs={
            "Id": lambda v: v.ref,
            "EventSourceMappingArn": lambda v: arn("lambda", f"event-source-mapping:{v.ref}"),
        },
    ),
    "AWS::Lambda::LayerVersion": _TypeSpec(
        "LayerName",
        64,
        ref=lambda v: arn("lambda", f"layer:{v.name}:1"),
        attrs={"LayerVersionArn": lambda v: v.ref},
    ),
    # IAM (global: no region in ARNs)
    "AWS::IAM::Role": _TypeSpec(
        "RoleName",
        64,
        attrs={
            "Arn": lambda v: global_arn("iam", f"role{_iam_path(v)}{v.ref}"),
            "RoleId": lambda v: "AROA" + v.token(_UPPER_ALNUM, 17, "id"),
        },
    ),
    "AWS::IAM::Policy": _TypeSpec(attrs={"Id": lambda v: v.ref}),
    "AWS::IAM::RolePolicy": _TypeSpec(),
    "AWS::IAM::ManagedPolicy": _TypeSpec(
        "ManagedPolicyName",
        128,
        ref=lambda v: global_arn("iam", f"policy{_iam_path(v)}{v.name}"),
        attrs={"PolicyArn": lambda v: v.ref, "PolicyId": lambda v: "ANPA" + v.token(_UPPER_ALNUM, 17, "id")},
    ),
    "AWS::IAM::User": _TypeSpec(
        "UserName", 64, attrs={"Arn": lambda v: global_arn("iam", f"user{_iam_path(v)}{v.ref}")}
    ),
    "AWS::IAM::Group": _TypeSpec(
        "GroupName", 128, attrs={"Arn": lambda v: global_arn("iam", f"group{_iam_path(v)}{v.ref}")}
    ),
    "AWS::IAM::InstanceProfile": _TypeSpec(
        "InstanceProfileName",
        128,
        attrs={"Arn": lambda v: global_arn("iam", f"instance-profile{_iam_path(v)}{v.ref}")},
    ),
    # Step Functions
    "AWS::StepFunctions::StateMachine": _TypeSpec(
        "StateMachineName",
        80,
        ref=lambda v: arn("states", f"stateMachine:{v.name}"),
        attrs={"Arn": lambda v: v.ref, "Name": lambda v: v.name, "StateMachineRevisionId": _revision_id},
    ),
    "AWS::StepFunctions::Activity": _TypeSpec(
        "Name",
        80,
        ref=lambda v: arn("states", f"activity:{v.name}"),
        attrs={"Arn": lambda v: v.ref, "Name": lambda v: v.name},
    ),
    "AWS::StepFunctions::StateMachineVersion": _TypeSpec(
        ref=lambda v: f"{_state_machine_arn(v)}:1", attrs={"Arn": lambda v: v.ref}
    ),
    "AWS::StepFunctions::StateMachineAlias": _TypeSpec(
        "Name", 80, ref=_state_machine_alias_arn, attrs={"Arn": lambda v: v.ref}
    ),
    # CloudWatch Logs
    "AWS::Logs::LogGroup": _TypeSpec(
        "LogGroupName", 512, attrs={"Arn": lambda v: arn("logs", f"log-group:{v.ref}:*")}
    ),
    "AWS::Logs::LogStream": _TypeSpec("LogStreamName", 512),
    # API Gateway (REST)
    "AWS::ApiGateway::RestApi": _TypeSpec(
        ref=_id10,
        attrs={"RootResourceId": lambda v: v.token(_LOWER_ALNUM, 10, "root"), "RestApiId": lambda v: v.ref},
    ),
    "AWS::ApiGateway::Resource": _TypeSpec(ref=_id6, attrs={"ResourceId": lambda v: v.ref}),
    "AWS::ApiGateway::Method": _TypeSpec(),
    "AWS::ApiGateway::Deployment": _TypeSpec(ref=_id6, attrs={"DeploymentId": lambda v: v.ref}),
    "AWS::ApiGateway::Stage": _TypeSpec("StageName", 128),
    "AWS::ApiGateway::Account": _TypeSpec(),
    "AWS::ApiGateway::Authorizer": _TypeSpec(ref=_id6, attrs={"AuthorizerId": lambda v: v.ref}),
    "AWS::ApiGateway::RequestValidator": _TypeSpec(ref=_id6, attrs={"RequestValidatorId": lambda v: v.ref}),
    "AWS::ApiGateway::Model": _TypeSpec(
        "Name", 128, ref=lambda v: v.name if v.prop("Name") else v.logical_id + v.token(_MIXED_ALNUM, 12)
    ),
    "AWS::ApiGateway::GatewayResponse": _TypeSpec(ref=_id6),
    "AWS::ApiGateway::ApiKey": _TypeSpec(ref=_id10, attrs={"APIKeyId": lambda v: v.ref}),
    "AWS::ApiGateway::UsagePlan": _TypeSpec(ref=_id6, attrs={"Id": lambda v: v.ref}),
    "AWS::ApiGateway::UsagePlanKey": _TypeSpec(
        ref=lambda v: _text(v.prop("KeyId") or _id10(v)), attrs={"Id": lambda v: v.ref}
    ),
    "AWS::ApiGateway::VpcLink": _TypeSpec(ref=_id6),
    # Messaging and data
    "AWS::SQS::Queue": _TypeSpec(
        ref=lambda v: f"https://sqs.{DEFAULT_REGION}.{_URL_SUFFIX}/{DEFAULT_ACCOUNT}/{_queue_name(v)}",
        attrs={
            "Arn": lambda v: arn("sqs", _queue_name(v)),
            "QueueName": _queue_name,
            "QueueUrl": lambda v: v.ref,
        },
    ),
    "AWS::SNS::Topic": _TypeSpec(
        ref=lambda v: arn("sns", _topic_name(v)),
        attrs={"TopicArn": lambda v: v.ref, "TopicName": _topic_name},
    ),
    "AWS::SNS::Subscription": _TypeSpec(
        ref=lambda v: f"{v.required('TopicArn')}:{v.uuid()}", attrs={"Arn": lambda v: v.ref}
    ),
    "AWS::DynamoDB::Table": _TypeSpec(
        "TableName",
        255,
        attrs={
            "Arn": lambda v: arn("dynamodb", f"table/{v.ref}"),
            "StreamArn": lambda v: arn("dynamodb", f"table/{v.ref}/stream/{_STREAM_LABEL}"),
        },
    ),
    "AWS::Kinesis::Stream": _TypeSpec(
        "Name", 128, attrs={"Arn": lambda v: arn("kinesis", f"stream/{v.ref}")}
    ),
    "AWS::Events::EventBus": _TypeSpec(
        "Name", 256, attrs={"Arn": lambda v: arn("events", f"event-bus/{v.ref}"), "Name": lambda v: v.ref}
    ),
    "AWS::Events::Rule": _TypeSpec("Name", 64, ref=_rule_ref, attrs={"Arn": _rule_arn}),
    "AWS::S3::Bucket": _TypeSpec("BucketName", 63, attrs=_s3_bucket_attrs(), lower=True),
    "AWS::KMS::Key": _TypeSpec(
        ref=lambda v: v.uuid(), attrs={"Arn": lambda v: arn("kms", f"key/{v.ref}"), "KeyId": lambda v: v.ref}
    ),
    "AWS::KMS::Alias": _TypeSpec("AliasName", 256),
    "AWS::SecretsManager::Secret": _TypeSpec(
        "Name",
        256,
        ref=lambda v: arn("secretsmanager", f"secret:{v.name}-{v.token(_MIXED_ALNUM, 6)}"),
        attrs={"Id": lambda v: v.ref},
    ),
    "AWS::SSM::Parameter": _TypeSpec(
        "Name", 1011, attrs={"Type": lambda v: v.prop("Type"), "Value": lambda v: v.prop("Value")}
    ),
}
