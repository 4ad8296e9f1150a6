"""REST APIs built from a stack's resolved ``AWS::ApiGateway::*`` resources, compiled for serving.

Everything a request needs is prepared here, once: the resource tree becomes a ``Router``, mapping
templates are compiled, selection patterns are compiled, integration URIs are split into service and
action. A request then only walks data.

Example:
    >>> from asyncgate.local.assembly import Resource, Stack
    >>> api = Resource("Api", "AWS::ApiGateway::RestApi", {"Name": "Sample API"}, "abc123",
    ...                {"RootResourceId": "root0"})
    >>> method = Resource("M", "AWS::ApiGateway::Method", {"HttpMethod": "POST", "ResourceId": "root0",
    ...     "RestApiId": "abc123", "Integration": {"Type": "MOCK"}}, "m1")
    >>> stage = Resource("S", "AWS::ApiGateway::Stage", {"RestApiId": "abc123", "StageName": "main"}, "main")
    >>> [(a.name, [s.name for s in a.stages]) for a in build_rest_apis(Stack("s", {r.logical_id: r
    ...     for r in (api, method, stage)}, {}))]
    [('Sample API', ['main'])]
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..assembly import Resource, Stack
from .api_keys import UsagePlans, build_usage_plans
from .auth import LambdaAuthorizer, build_authorizers
from .permissions import InvokePermissions, build_invoke_permissions
from .routing import Router
from .stages import Canary, Stage, build_stages
from .validation import MethodValidation, build_models, build_validators, method_validation
from .vtl import Template, compile_deferred

__all__ = [
    "Canary",
    "CustomGatewayResponse",
    "Integration",
    "IntegrationResponse",
    "IntegrationType",
    "Method",
    "MethodResponse",
    "PassthroughBehavior",
    "RestApi",
    "Stage",
    "build_rest_apis",
]

LOG = logging.getLogger(__name__)


class IntegrationType(Enum):
    """``Integration.Type``."""

    AWS = "AWS"
    AWS_PROXY = "AWS_PROXY"
    HTTP = "HTTP"
    HTTP_PROXY = "HTTP_PROXY"
    MOCK = "MOCK"


class PassthroughBehavior(Enum):
    """``Integration.PassthroughBehavior``: what happens to a body no request template maps."""

    WHEN_NO_MATCH = "WHEN_NO_MATCH"
    WHEN_NO_TEMPLATES = "WHEN_NO_TEMPLATES"
    NEVER = "NEVER"


@dataclass(frozen=True, slots=True)
class IntegrationResponse:
    """One ``IntegrationResponses`` entry. ``pattern`` None marks the default response."""

    status_code: str
    selection_pattern: str
    pattern: re.Pattern[str] | None
    templates: dict[str, Template]
    #: ``method.response.header.X`` -> ``'literal'`` | ``integration.response.header.Y`` | ...
    parameters: dict[str, str]
    #: ``CONVERT_TO_TEXT`` | ``CONVERT_TO_BINARY`` | None (pass the payload through)
    content_handling: str | None = None


@dataclass(frozen=True, slots=True)
class MethodResponse:
    """One ``MethodResponses`` entry."""

    status_code: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Integration:
    """``Method.Integration``, with its URI split and its templates compiled."""

    type: IntegrationType
    uri: str
    http_method: str
    credentials: str | None
    #: AWS integrations: ``states`` (from ``arn:aws:apigateway:region:states:action/StartExecution``)
    service: str
    #: AWS integrations: ``StartExecution`` for ``action/`` URIs, ``path/<path>`` for path URIs
    action: str
    request_templates: dict[str, Template]
    passthrough: PassthroughBehavior
    responses: tuple[IntegrationResponse, ...]
    default_response: IntegrationResponse | None
    request_parameters: dict[str, str]
    timeout_ms: int
    #: ``CONVERT_TO_TEXT`` | ``CONVERT_TO_BINARY`` | None (pass the payload through)
    content_handling: str | None = None


@dataclass(frozen=True, slots=True)
class Method:
    """A method on a resource."""

    http_method: str
    resource_path: str
    resource_id: str
    integration: Integration
    method_responses: dict[str, MethodResponse]
    authorization_type: str
    api_key_required: bool
    #: the Lambda authorizer of a ``CUSTOM`` method
    authorizer: LambdaAuthorizer | None = None
    #: the request validator's checks, when the method has a validator that checks something
    validation: MethodValidation | None = None


@dataclass(frozen=True, slots=True)
class CustomGatewayResponse:
    """An ``AWS::ApiGateway::GatewayResponse``: how the API dresses one type of gateway error."""

    response_type: str
    status_code: str | None
    #: ``gatewayresponse.header.X`` -> ``'literal'`` | ``method.request.header.Y`` | ...
    parameters: dict[str, str]
    templates: dict[str, Template]


@dataclass(frozen=True, slots=True)
class RestApi:
    """A REST API ready to serve: its stages, the compiled route table, its custom gateway responses."""

    api_id: str
    name: str
    stages: tuple[Stage, ...]
    router: Router[Method]
    gateway_responses: dict[str, CustomGatewayResponse] = field(default_factory=dict)
    usage_plans: UsagePlans = field(default_factory=lambda: UsagePlans({}, {}))
    #: ``ApiKeySourceType``: ``HEADER`` (``x-api-key``) or ``AUTHORIZER`` (``usageIdentifierKey``)
    api_key_source: str = "HEADER"
    #: ``BinaryMediaTypes`` (``image/png``, ``image/*``, ``*/*``)
    binary_media_types: tuple[str, ...] = ()
    invoke_permissions: InvokePermissions = field(default_factory=lambda: InvokePermissions({}))

    def is_binary(self, media_type: str | None) -> bool:
        """Whether a payload of this media type is binary for the API (``BinaryMediaTypes``)."""
        if not self.binary_media_types:
            return False
        if not media_type:
            return "*/*" in self.binary_media_types
        major = media_type.split("/", 1)[0] + "/*"
        return any(t in (media_type, major, "*/*") for t in self.binary_media_types)

    @property
    def id(self) -> str:
        """AWS's name for the API's id (``restApiId`` in URLs, ``id`` in GetRestApi)."""
        return self.api_id

    def stage(self, name: str) -> Stage | None:
        """The stage called ``name``, if deployed."""
        return next((s for s in self.stages if s.name == name), None)


def _templates(raw: Any) -> dict[str, Template]:
    if not isinstance(raw, dict):
        return {}
    return {str(ct).lower(): compile_deferred(str(text)) for ct, text in raw.items() if text is not None}


def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:
        LOG.warning("selection pattern %r is not a valid regular expression; it never matches", text)
        return re.compile(r"(?!)")


def _integration_response(raw: dict[str, Any]) -> IntegrationResponse:
    text = str(raw.get("SelectionPattern") or "")
    return IntegrationResponse(
        status_code=str(raw.get("StatusCode", "200")),
        selection_pattern=text,
        pattern=_pattern(text) if text else None,
        templates=_templates(raw.get("ResponseTemplates")),
        parameters={str(k): str(v) for k, v in (raw.get("ResponseParameters") or {}).items()},
        content_handling=str(raw["ContentHandling"]) if raw.get("ContentHandling") else None,
    )


def _split_uri(uri: str) -> tuple[str, str]:
    """``arn:aws:apigateway:us-east-1:states:action/StartExecution`` -> (``states``, ``StartExecution``)."""
    parts = uri.split(":", 5)
    if len(parts) != 6 or parts[2] != "apigateway":
        return "", ""
    service = parts[4].split(".")[-1]  # `{subdomain}.{service}` names the service last
    kind, _, rest = parts[5].partition("/")
    return service, (rest if kind == "action" else f"path/{rest}")


def build_integration(raw: dict[str, Any]) -> Integration:
    """Compile one ``Integration`` property (also used by tests and the conformance runner)."""
    kind = IntegrationType(str(raw.get("Type", "MOCK")).upper())
    uri = str(raw.get("Uri") or "")
    is_aws = kind in (IntegrationType.AWS, IntegrationType.AWS_PROXY)
    service, action = _split_uri(uri) if is_aws else ("", "")
    responses = tuple(_integration_response(r) for r in raw.get("IntegrationResponses") or [])
    credentials = raw.get("Credentials")
    return Integration(
        type=kind,
        uri=uri,
        http_method=str(raw.get("IntegrationHttpMethod") or "POST").upper(),
        credentials=str(credentials) if credentials else None,
        service=service,
        action=action,
        request_templates=_templates(raw.get("RequestTemplates")),
        passthrough=PassthroughBehavior(str(raw.get("PassthroughBehavior") or "WHEN_NO_MATCH").upper()),
        responses=tuple(r for r in responses if r.pattern is not None),
        default_response=next((r for r in responses if r.pattern is None), None),
        request_parameters={str(k): str(v) for k, v in (raw.get("RequestParameters") or {}).items()},
        timeout_ms=int(raw.get("TimeoutInMillis") or 29_000),
        content_handling=str(raw["ContentHandling"]) if raw.get("ContentHandling") else None,
    )


def _resource_paths(api: Resource, resources: list[Resource]) -> dict[str, str]:
    """Resource id -> path (``/``, ``/pets``, ``/pets/{id}``) from ParentId/PathPart links."""
    by_id = {r.physical_id: r for r in resources}
    root_id = str(api.attributes.get("RootResourceId", ""))
    paths: dict[str, str] = {root_id: "/"}

    def path_of(rid: str, depth: int = 0) -> str | None:
        if rid in paths:
            return paths[rid]
        res = by_id.get(rid)
        if res is None or depth > 64:
            return None
        parent = path_of(str(res.properties.get("ParentId", "")), depth + 1)
        if parent is None:
            return None
        paths[rid] = parent.rstrip("/") + "/" + str(res.properties.get("PathPart", ""))
        return paths[rid]

    for res in resources:
        path_of(res.physical_id)
    return paths


@dataclass(frozen=True, slots=True)
class _ApiParts:
    """What the methods of one API refer to by id: authorizers, validators, models."""

    authorizers: dict[str, LambdaAuthorizer]
    validators: dict[str, tuple[bool, bool]]
    models: Any


def _method(raw: Resource, resource_path: str, parts: _ApiParts) -> Method:
    props = raw.properties
    authorization = str(props.get("AuthorizationType") or "NONE").upper()
    authorizer = parts.authorizers.get(str(props.get("AuthorizerId") or ""))
    if authorization == "CUSTOM" and authorizer is None:
        raise ValueError(f"authorizer {props.get('AuthorizerId')!r} is not a Lambda TOKEN/REQUEST authorizer")
    if authorization == "AWS_IAM":
        LOG.info(
            "method %s %s: AWS_IAM needs a SigV4-signed request; signatures and policies are not "
            "checked locally",
            props.get("HttpMethod"),
            resource_path,
        )
    elif authorization == "COGNITO_USER_POOLS":
        LOG.warning(
            "method %s %s: COGNITO_USER_POOLS authorization is not checked locally",
            props.get("HttpMethod"),
            resource_path,
        )
    responses = {
        str(r.get("StatusCode")): MethodResponse(
            str(r.get("StatusCode")), dict(r.get("ResponseParameters") or {})
        )
        for r in props.get("MethodResponses") or []
    }
    return Method(
        http_method=str(props.get("HttpMethod", "GET")).upper(),
        resource_path=resource_path,
        resource_id=str(props.get("ResourceId", "")),
        integration=build_integration(dict(props.get("Integration") or {"Type": "MOCK"})),
        method_responses=responses,
        authorization_type=authorization,
        api_key_required=bool(props.get("ApiKeyRequired", False)),
        authorizer=authorizer if authorization == "CUSTOM" else None,
        validation=method_validation(props, parts.validators, parts.models),
    )


def _gateway_responses(api_id: str, stack: Stack) -> dict[str, CustomGatewayResponse]:
    out: dict[str, CustomGatewayResponse] = {}
    for res in stack.of_type("AWS::ApiGateway::GatewayResponse"):
        props = res.properties
        if props.get("RestApiId") != api_id or not props.get("ResponseType"):
            continue
        kind = str(props["ResponseType"])
        out[kind] = CustomGatewayResponse(
            response_type=kind,
            status_code=str(props["StatusCode"]) if props.get("StatusCode") else None,
            parameters={str(k): str(v) for k, v in (props.get("ResponseParameters") or {}).items()},
            templates=_templates(props.get("ResponseTemplates")),
        )
    return out


def build_rest_apis(stack: Stack) -> list[RestApi]:
    """Every ``AWS::ApiGateway::RestApi`` of the stack, with its methods routed and compiled."""
    apis: list[RestApi] = []
    resources = stack.of_type("AWS::ApiGateway::Resource")
    methods = stack.of_type("AWS::ApiGateway::Method")
    usage_plans = build_usage_plans(stack)
    permissions = build_invoke_permissions(stack)
    for api in stack.of_type("AWS::ApiGateway::RestApi"):
        api_id = api.physical_id
        parts = _ApiParts(
            build_authorizers(stack, api_id), build_validators(stack, api_id), build_models(stack, api_id)
        )
        own = [r for r in resources if r.properties.get("RestApiId") == api_id]
        paths = _resource_paths(api, own)
        routes = []
        for m in methods:
            if m.properties.get("RestApiId") != api_id:
                continue
            path = paths.get(str(m.properties.get("ResourceId", "")))
            if path is None:
                LOG.warning("method %s: its resource is not part of API %s; not served", m.logical_id, api_id)
                continue
            try:
                method = _method(m, path, parts)
            except (ValueError, TypeError) as exc:  # one odd method must not take the runtime down
                LOG.warning("method %s (%s): not served: %s", m.logical_id, m.path or path, exc)
                continue
            routes.append((path, method.http_method, method))
        apis.append(
            RestApi(
                api_id=api_id,
                name=str(api.properties.get("Name") or api.logical_id),
                stages=build_stages(api_id, stack),
                router=Router.build(routes),
                gateway_responses=_gateway_responses(api_id, stack),
                usage_plans=usage_plans,
                api_key_source=str(api.properties.get("ApiKeySourceType") or "HEADER").upper(),
                binary_media_types=tuple(
                    str(t).replace("~1", "/") for t in api.properties.get("BinaryMediaTypes") or []
                ),
                invoke_permissions=permissions,
            )
        )
    return apis
