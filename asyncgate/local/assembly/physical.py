"""Physical ids and ``Fn::GetAtt`` attributes, per CloudFormation resource type.

One ``TypeSpec`` per type says which property holds an explicit name, how long generated names may be,
and what ``Ref`` and each attribute return. Unknown types get ``GENERIC``: a deterministic name and an
ARN built from the type's service, so loading never fails on a type we do not serve.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asyncgate.local.arns import DEFAULT_ACCOUNT, DEFAULT_REGION, PARTITION, arn, global_arn
from asyncgate.local.assembly.model import ResolutionError
from asyncgate.local.assembly.naming import (
    LOWER_ALNUM,
    MIXED_ALNUM,
    NO_VALUE,
    UPPER_ALNUM,
    URL_SUFFIX,
    cfn_text,
    generated_name,
    stable_token,
)

if TYPE_CHECKING:
    from asyncgate.local.assembly.resolver import Resolver, StackState

__all__ = ["GENERIC", "TYPES", "ResourceView", "TypeSpec", "generic_arn"]

# -- physical ids and attributes per type ------------------------------------------------------------------
class ResourceView:
    """One resource as the type specs see it: its generated name, its (lazily resolved) properties."""

    __slots__ = ("logical_id", "resolver", "spec", "st", "type")

    def __init__(self, resolver: Resolver, st: StackState, logical_id: str) -> None:
        self.resolver = resolver
        self.st = st
        self.logical_id = logical_id
        self.type = str(st.resources[logical_id].get("Type", ""))
        self.spec = TYPES.get(self.type, GENERIC)

    def prop(self, name: str) -> Any:
        value = self.resolver.prop(self.st, self.logical_id, name)
        return None if value is NO_VALUE else value

    def required(self, name: str) -> str:
        """A property CloudFormation requires for this type, as a string."""
        value = self.prop(name)
        if value is None:
            raise ResolutionError(f"{self.type} {self.logical_id} has no {name} property, which it requires")
        return cfn_text(value)

    def token(self, alphabet: str, length: int, salt: str = "") -> str:
        return stable_token(alphabet, length, self.st.name, self.logical_id, salt)

    def uuid(self, salt: str = "") -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"asyncgate:{self.st.name}/{self.logical_id}/{salt}"))

    @property
    def name(self) -> str:
        """The explicit name property if set, else a CloudFormation-style generated name."""
        if self.spec.name_prop is not None and (explicit := self.prop(self.spec.name_prop)) is not None:
            return cfn_text(explicit)
        return generated_name(self.st.name, self.logical_id, self.spec.max_len, lower=self.spec.lower)

    @property
    def ref(self) -> str:
        return self.resolver.physical_id(self.st, self.logical_id)


def _by_name(view: ResourceView) -> str:
    return view.name


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """How CloudFormation names one resource type and what its ``Ref`` and ``Fn::GetAtt`` return."""

    name_prop: str | None = None
    max_len: int = 64
    ref: Callable[[ResourceView], str] = _by_name
    attrs: Mapping[str, Callable[[ResourceView], Any]] = field(default_factory=dict)
    lower: bool = False


def _service_of(type_: str) -> str:
    parts = type_.split("::")
    return parts[1].lower() if len(parts) == 3 else "unknown"


def generic_arn(view: ResourceView) -> str:
    parts = view.type.split("::")
    kind = parts[2][:1].lower() + parts[2][1:] if len(parts) == 3 else "resource"
    return arn(_service_of(view.type), f"{kind}/{view.ref}")


def _generic_name(view: ResourceView) -> str:
    explicit = view.prop("Name")
    if isinstance(explicit, str):
        return explicit
    return generated_name(view.st.name, view.logical_id, 64)


GENERIC = TypeSpec(ref=_generic_name)


def _function_arn(value: Any) -> str:
    text = cfn_text(value)
    return text if text.startswith("arn:") else arn("lambda", f"function:{text}")


def _iam_path(view: ResourceView) -> str:
    return str(view.prop("Path") or "/")


def _queue_name(view: ResourceView) -> str:
    explicit = view.prop("QueueName")
    if explicit is not None:
        return cfn_text(explicit)
    if view.prop("FifoQueue") in (True, "true"):
        return generated_name(view.st.name, view.logical_id, 75) + ".fifo"
    return generated_name(view.st.name, view.logical_id, 80)


def _topic_name(view: ResourceView) -> str:
    explicit = view.prop("TopicName")
    if explicit is not None:
        return cfn_text(explicit)
    if view.prop("FifoTopic") in (True, "true"):
        return generated_name(view.st.name, view.logical_id, 251) + ".fifo"
    return generated_name(view.st.name, view.logical_id, 256)


def _custom_bus(view: ResourceView) -> str | None:
    bus = view.prop("EventBusName")
    if bus is None:
        return None
    name = cfn_text(bus).rsplit("event-bus/", 1)[-1]
    return None if name == "default" else name


def _rule_ref(view: ResourceView) -> str:
    bus = _custom_bus(view)
    return f"{bus}|{view.name}" if bus else view.name


def _rule_arn(view: ResourceView) -> str:
    bus = _custom_bus(view)
    return arn("events", f"rule/{bus}/{view.name}" if bus else f"rule/{view.name}")


def _revision_id(view: ResourceView) -> str:
    definition = json.dumps([view.prop("DefinitionString"), view.prop("Definition")], sort_keys=True)
    return view.uuid(hashlib.sha256(definition.encode()).hexdigest())


def _state_machine_arn(view: ResourceView) -> str:
    return view.required("StateMachineArn")


def _state_machine_alias_arn(view: ResourceView) -> str:
    """``<state machine ARN>:<alias>``; the machine comes from the version the alias routes to."""
    routes = view.prop("RoutingConfiguration") or [view.prop("DeploymentPreference") or {}]
    version = cfn_text(routes[0].get("StateMachineVersionArn", "")) if routes else ""
    machine = version.rsplit(":", 1)[0] if version.count(":") > 6 else version
    return f"{machine}:{view.name}"


def _s3_bucket_attrs() -> dict[str, Callable[[ResourceView], Any]]:
    r = DEFAULT_REGION
    return {
        "Arn": lambda v: f"arn:{PARTITION}:s3:::{v.ref}",
        "DomainName": lambda v: f"{v.ref}.s3.{URL_SUFFIX}",
        "RegionalDomainName": lambda v: f"{v.ref}.s3.{r}.{URL_SUFFIX}",
        "DualStackDomainName": lambda v: f"{v.ref}.s3.dualstack.{r}.{URL_SUFFIX}",
        "WebsiteURL": lambda v: f"http://{v.ref}.s3-website-{r}.{URL_SUFFIX}",
    }


def _id6(view: ResourceView) -> str:
    return view.token(LOWER_ALNUM, 6)


def _id10(view: ResourceView) -> str:
    return view.token(LOWER_ALNUM, 10)


_STREAM_LABEL = "1970-01-01T00:00:00.000"  # a fixed stream label keeps StreamArn stable across restarts

TYPES: dict[str, TypeSpec] = {
    # Lambda
    "AWS::Lambda::Function": TypeSpec(
        "FunctionName", 64, attrs={"Arn": lambda v: arn("lambda", f"function:{v.ref}")}
    ),
    "AWS::Lambda::Version": TypeSpec(
        ref=lambda v: f"{_function_arn(v.required('FunctionName'))}:1",
        attrs={"Version": lambda v: "1", "FunctionArn": lambda v: v.ref},
    ),
    "AWS::Lambda::Alias": TypeSpec(
        ref=lambda v: f"{_function_arn(v.required('FunctionName'))}:{v.required('Name')}",
        attrs={"AliasArn": lambda v: v.ref},
    ),
    "AWS::Lambda::EventSourceMapping": TypeSpec(
        ref=lambda v: v.uuid(),
        attrs={
            "Id": lambda v: v.ref,
            "EventSourceMappingArn": lambda v: arn("lambda", f"event-source-mapping:{v.ref}"),
        },
    ),
    "AWS::Lambda::LayerVersion": TypeSpec(
        "LayerName",
        64,
        ref=lambda v: arn("lambda", f"layer:{v.name}:1"),
        attrs={"LayerVersionArn": lambda v: v.ref},
    ),
    # IAM (global: no region in ARNs)
    "AWS::IAM::Role": TypeSpec(
        "RoleName",
        64,
        attrs={
            "Arn": lambda v: global_arn("iam", f"role{_iam_path(v)}{v.ref}"),
            "RoleId": lambda v: "AROA" + v.token(UPPER_ALNUM, 17, "id"),
        },
    ),
    "AWS::IAM::Policy": TypeSpec(attrs={"Id": lambda v: v.ref}),
    "AWS::IAM::RolePolicy": TypeSpec(),
    "AWS::IAM::ManagedPolicy": TypeSpec(
        "ManagedPolicyName",
        128,
        ref=lambda v: global_arn("iam", f"policy{_iam_path(v)}{v.name}"),
        attrs={"PolicyArn": lambda v: v.ref, "PolicyId": lambda v: "ANPA" + v.token(UPPER_ALNUM, 17, "id")},
    ),
    "AWS::IAM::User": TypeSpec(
        "UserName", 64, attrs={"Arn": lambda v: global_arn("iam", f"user{_iam_path(v)}{v.ref}")}
    ),
    "AWS::IAM::Group": TypeSpec(
        "GroupName", 128, attrs={"Arn": lambda v: global_arn("iam", f"group{_iam_path(v)}{v.ref}")}
    ),
    "AWS::IAM::InstanceProfile": TypeSpec(
        "InstanceProfileName",
        128,
        attrs={"Arn": lambda v: global_arn("iam", f"instance-profile{_iam_path(v)}{v.ref}")},
    ),
    # Step Functions
    "AWS::StepFunctions::StateMachine": TypeSpec(
        "StateMachineName",
        80,
        ref=lambda v: arn("states", f"stateMachine:{v.name}"),
        attrs={"Arn": lambda v: v.ref, "Name": lambda v: v.name, "StateMachineRevisionId": _revision_id},
    ),
    "AWS::StepFunctions::Activity": TypeSpec(
        "Name",
        80,
        ref=lambda v: arn("states", f"activity:{v.name}"),
        attrs={"Arn": lambda v: v.ref, "Name": lambda v: v.name},
    ),
    "AWS::StepFunctions::StateMachineVersion": TypeSpec(
        ref=lambda v: f"{_state_machine_arn(v)}:1", attrs={"Arn": lambda v: v.ref}
    ),
    "AWS::StepFunctions::StateMachineAlias": TypeSpec(
        "Name", 80, ref=_state_machine_alias_arn, attrs={"Arn": lambda v: v.ref}
    ),
    # CloudWatch Logs
    "AWS::Logs::LogGroup": TypeSpec(
        "LogGroupName", 512, attrs={"Arn": lambda v: arn("logs", f"log-group:{v.ref}:*")}
    ),
    "AWS::Logs::LogStream": TypeSpec("LogStreamName", 512),
    # API Gateway (REST)
    "AWS::ApiGateway::RestApi": TypeSpec(
        ref=_id10,
        attrs={"RootResourceId": lambda v: v.token(LOWER_ALNUM, 10, "root"), "RestApiId": lambda v: v.ref},
    ),
    "AWS::ApiGateway::Resource": TypeSpec(ref=_id6, attrs={"ResourceId": lambda v: v.ref}),
    "AWS::ApiGateway::Method": TypeSpec(),
    "AWS::ApiGateway::Deployment": TypeSpec(ref=_id6, attrs={"DeploymentId": lambda v: v.ref}),
    "AWS::ApiGateway::Stage": TypeSpec("StageName", 128),
    "AWS::ApiGateway::Account": TypeSpec(),
    "AWS::ApiGateway::Authorizer": TypeSpec(ref=_id6, attrs={"AuthorizerId": lambda v: v.ref}),
    "AWS::ApiGateway::RequestValidator": TypeSpec(ref=_id6, attrs={"RequestValidatorId": lambda v: v.ref}),
    "AWS::ApiGateway::Model": TypeSpec(
        "Name", 128, ref=lambda v: v.name if v.prop("Name") else v.logical_id + v.token(MIXED_ALNUM, 12)
    ),
    "AWS::ApiGateway::GatewayResponse": TypeSpec(ref=_id6),
    "AWS::ApiGateway::ApiKey": TypeSpec(ref=_id10, attrs={"APIKeyId": lambda v: v.ref}),
    "AWS::ApiGateway::UsagePlan": TypeSpec(ref=_id6, attrs={"Id": lambda v: v.ref}),
    "AWS::ApiGateway::UsagePlanKey": TypeSpec(
        ref=lambda v: cfn_text(v.prop("KeyId") or _id10(v)), attrs={"Id": lambda v: v.ref}
    ),
    "AWS::ApiGateway::VpcLink": TypeSpec(ref=_id6),
    # Messaging and data
    "AWS::SQS::Queue": TypeSpec(
        ref=lambda v: f"https://sqs.{DEFAULT_REGION}.{URL_SUFFIX}/{DEFAULT_ACCOUNT}/{_queue_name(v)}",
        attrs={
            "Arn": lambda v: arn("sqs", _queue_name(v)),
            "QueueName": _queue_name,
            "QueueUrl": lambda v: v.ref,
        },
    ),
    "AWS::SNS::Topic": TypeSpec(
        ref=lambda v: arn("sns", _topic_name(v)),
        attrs={"TopicArn": lambda v: v.ref, "TopicName": _topic_name},
    ),
    "AWS::SNS::Subscription": TypeSpec(
        ref=lambda v: f"{v.required('TopicArn')}:{v.uuid()}", attrs={"Arn": lambda v: v.ref}
    ),
    "AWS::DynamoDB::Table": TypeSpec(
        "TableName",
        255,
        attrs={
            "Arn": lambda v: arn("dynamodb", f"table/{v.ref}"),
            "StreamArn": lambda v: arn("dynamodb", f"table/{v.ref}/stream/{_STREAM_LABEL}"),
        },
    ),
    "AWS::Kinesis::Stream": TypeSpec(
        "Name", 128, attrs={"Arn": lambda v: arn("kinesis", f"stream/{v.ref}")}
    ),
    "AWS::Events::EventBus": TypeSpec(
        "Name", 256, attrs={"Arn": lambda v: arn("events", f"event-bus/{v.ref}"), "Name": lambda v: v.ref}
    ),
    "AWS::Events::Rule": TypeSpec("Name", 64, ref=_rule_ref, attrs={"Arn": _rule_arn}),
    "AWS::S3::Bucket": TypeSpec("BucketName", 63, attrs=_s3_bucket_attrs(), lower=True),
    "AWS::KMS::Key": TypeSpec(
        ref=lambda v: v.uuid(), attrs={"Arn": lambda v: arn("kms", f"key/{v.ref}"), "KeyId": lambda v: v.ref}
    ),
    "AWS::KMS::Alias": TypeSpec("AliasName", 256),
    "AWS::SecretsManager::Secret": TypeSpec(
        "Name",
        256,
        ref=lambda v: arn("secretsmanager", f"secret:{v.name}-{v.token(MIXED_ALNUM, 6)}"),
        attrs={"Id": lambda v: v.ref},
    ),
    "AWS::SSM::Parameter": TypeSpec(
        "Name", 1011, attrs={"Type": lambda v: v.prop("Type"), "Value": lambda v: v.prop("Value")}
    ),
}

