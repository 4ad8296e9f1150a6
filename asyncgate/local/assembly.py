"""Read a synthesized CDK cloud assembly (``cdk.out``) into resolved resources.

CONTRACT STUB — the loading and intrinsic resolution are being written; the data model below is the
contract the rest of the runtime codes against. Do not change field names without telling the team.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
