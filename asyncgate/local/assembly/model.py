"""The assembly's data model: resolved resources, stacks, the assembly, and its errors.

This is the contract the rest of the runtime codes against (``docs/contracts.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SERVED_TYPES",
    "SILENT_TYPES",
    "Assembly",
    "AssemblyError",
    "AssetPathError",
    "ResolutionError",
    "Resource",
    "Stack",
]

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
SILENT_TYPES = frozenset({"AWS::CDK::Metadata"})


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

