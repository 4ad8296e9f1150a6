"""Read a synthesized CDK cloud assembly (``cdk.out``) into resolved resources.

Why hand-written: no maintained Python library turns a cloud assembly into *physical* resources.
cfn-lint and cfn-flip parse templates but leave ``Ref``/``Fn::GetAtt`` alone (they have no account to
resolve them against), and CloudFormation itself resolves them only on deploy. The local runtime needs
what CloudFormation would have produced: a function's name, a state machine's ARN, a definition string
with the real Lambda ARN spliced in. So this module plays CloudFormation for one pretend account
(``asyncgate.local.arns``): it reads ``manifest.json`` (and nested assemblies from ``cdk.Stage``), each
stack template and its ``<stack>.assets.json``, and resolves every intrinsic function.

Internals, in order (one module each):

1. ``manifest.read_manifest`` walks the manifest (recursing into ``cdk:cloud-assembly`` artifacts)
   and yields one ``StackSource`` per stack artifact; every path it follows must stay inside
   ``cdk.out`` (``AssetPathError`` otherwise).
2. ``resolver.Resolver`` resolves every intrinsic lazily, memoized and cycle-checked: a cycle raises
   ``ResolutionError`` naming the whole chain. Template order never matters.
3. ``physical.TYPES`` (one ``TypeSpec`` per CloudFormation type) gives physical ids and attributes:
   explicit names are kept; generated names are CloudFormation's ``<stack>-<logicalId>-<13 chars>``
   with the random part a hash of (stack name, logical id) (``naming``), so ids, and the ARNs durable
   executions store, survive restarts. Unknown types get a generic spec and are listed in
   ``Assembly.unsupported``.

Example:
    >>> assembly = load_assembly(Path("cdk.out"))                      # doctest: +SKIP
    >>> fn = assembly.stack("MyStack").of_type("AWS::Lambda::Function")[0]  # doctest: +SKIP
    >>> fn.attributes["Arn"]                                            # doctest: +SKIP
    'arn:aws:lambda:us-east-1:000000000000:function:my-function'
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asyncgate.local.assembly.manifest import read_manifest
from asyncgate.local.assembly.model import (
    SERVED_TYPES,
    SILENT_TYPES,
    Assembly,
    AssemblyError,
    AssetPathError,
    ResolutionError,
    Resource,
    Stack,
)
from asyncgate.local.assembly.naming import cfn_text
from asyncgate.local.assembly.resolver import Resolver, StackState

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
    sources = list(read_manifest(root, root))
    names = Counter(s.name for s in sources)
    if duplicated := [n for n, c in names.items() if c > 1]:
        raise AssemblyError(f"{root}: several stacks are named {duplicated}; stack names must be unique")
    resolver = Resolver([StackState.from_source(root, s) for s in sources], parameters or {})
    stacks = [resolver.build_stack(state) for state in resolver.stacks]
    unsupported: Counter[str] = Counter(
        r.type
        for s in stacks
        for r in s.resources.values()
        if r.type not in SERVED_TYPES and r.type not in SILENT_TYPES
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
    return re.sub(r"\$\{([^}]+)\}", lambda m: cfn_text(subs[m[1]]) if m[1] in subs else m[0], str(text))

