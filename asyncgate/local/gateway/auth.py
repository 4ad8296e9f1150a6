"""Lambda authorizers (``AWS::ApiGateway::Authorizer`` of type ``TOKEN`` or ``REQUEST``).

What API Gateway does before a method with ``AuthorizationType: CUSTOM`` runs (developer guide,
"Use API Gateway Lambda authorizers"), reproduced here:

- The identity sources are read first. A ``TOKEN`` authorizer needs its header
  (``method.request.header.Authorization``); missing or empty, or not matching
  ``IdentityValidationExpression``, the caller gets 401 ``{"message":"Unauthorized"}`` and the
  function is not invoked. A ``REQUEST`` authorizer with caching on needs every identity source.
- The function gets the ``TOKEN`` event (``type``, ``authorizationToken``, ``methodArn``) or the
  ``REQUEST`` event (the proxy event's fields plus ``type`` and ``methodArn``).
- It answers ``{principalId, policyDocument, context, usageIdentifierKey}``. An error whose message is
  ``Unauthorized`` is 401; any other error, or an answer that is not a policy, is 500
  ``{"message":null}`` (``AuthorizerConfigurationException``). ``context`` values must be strings,
  numbers or booleans.
- The policy is evaluated against the method ARN
  ``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}``, with ``*`` and ``?``
  wildcards: an explicit ``Deny`` gives 403 ``{"Message":"User is not authorized to access this
  resource with an explicit deny"}``, no ``Allow`` gives 403 ``{"Message":"User is not authorized to
  access this resource"}``.
- Results are cached for ``AuthorizerResultTtlInSeconds`` (default 300; 0 turns caching off), keyed
  by the identity source values. The cached *policy* is evaluated again for each method, so a policy
  written for one method can deny the next one — the behaviour AWS documents and users trip on.

Example:
    >>> policy = Policy.parse({"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke",
    ...     "Effect": "Allow", "Resource": "arn:aws:execute-api:us-east-1:000000000000:abc/main/GET/*"}]})
    >>> policy.decide("arn:aws:execute-api:us-east-1:000000000000:abc/main/GET/pets/1")
    <Decision.ALLOW: 'allow'>
    >>> policy.decide("arn:aws:execute-api:us-east-1:000000000000:abc/main/POST/pets")
    <Decision.IMPLICIT_DENY: 'implicit deny'>
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from ..assembly import Stack
from .errors import GatewayError, GatewayResponseType
from .integrations.lambdas import LambdaInvoker, function_from_uri

__all__ = [
    "AuthorizerCache",
    "Decision",
    "Grant",
    "LambdaAuthorizer",
    "Policy",
    "authorize",
    "authorizer_arn",
    "build_authorizers",
    "method_arn",
]

EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
IMPLICIT_DENY = "User is not authorized to access this resource"


def authorizer_arn(api_id: str, authorizer_id: str) -> str:
    """The ``SourceArn`` API Gateway invokes an authorizer function from (CDK grants exactly this)."""
    return f"arn:aws:execute-api:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:{api_id}/authorizers/{authorizer_id}"


def method_arn(api_id: str, stage: str, method: str, path: str) -> str:
    """The ARN API Gateway gives a Lambda authorizer (``methodArn``) and Lambda's ``SourceArn``."""
    return (
        f"arn:aws:execute-api:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:{api_id}/{stage}/{method.upper()}/"
        f"{path.lstrip('/')}"
    )


class Decision(Enum):
    """What a policy says about one method ARN."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


def _wildcard(pattern: str) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters (``/`` included), ``?`` one character."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"expected a string or a list of strings, got {value!r}")


@dataclass(frozen=True, slots=True)
class _Statement:
    allow: bool
    actions: tuple[re.Pattern[str], ...]
    resources: tuple[re.Pattern[str], ...]
    not_resources: tuple[re.Pattern[str], ...]

    def matches(self, arn: str) -> bool:
        if not any(a.fullmatch("execute-api:Invoke") for a in self.actions):
            return False
        if self.not_resources:
            return not any(r.fullmatch(arn) for r in self.not_resources)
        return any(r.fullmatch(arn) for r in self.resources)


@dataclass(frozen=True, slots=True)
class Policy:
    """An authorizer's ``policyDocument``, compiled (Action/Resource/NotResource, Allow/Deny)."""

    statements: tuple[_Statement, ...]

    @classmethod
    def parse(cls, document: Any) -> Policy:
        """Compile; ValueError when it is not a policy document."""
        if isinstance(document, str):
            document = json.loads(document)
        if not isinstance(document, dict) or "Statement" not in document:
            raise ValueError("policyDocument has no Statement")
        raw = document["Statement"]
        statements = []
        for st in raw if isinstance(raw, list) else [raw]:
            if not isinstance(st, dict) or st.get("Effect") not in ("Allow", "Deny"):
                raise ValueError(f"invalid statement {st!r}")
            actions = _strings(st.get("Action", []))
            resources = _strings(st.get("Resource", [])) if "Resource" in st else []
            not_resources = _strings(st["NotResource"]) if "NotResource" in st else []
            statements.append(
                _Statement(
                    st["Effect"] == "Allow",
                    tuple(_wildcard(a) for a in actions),
                    tuple(_wildcard(r) for r in resources),
                    tuple(_wildcard(r) for r in not_resources),
                )
            )
        return cls(tuple(statements))

    def decide(self, arn: str) -> Decision:
        """An explicit Deny wins over any Allow; nothing that matches is an implicit deny."""
        allowed = False
        for st in self.statements:
            if st.matches(arn):
                if not st.allow:
                    return Decision.EXPLICIT_DENY
                allowed = True
        return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


@dataclass(frozen=True, slots=True)
class Grant:
    """What an authorizer answered: who the caller is, what it may call, what it passes on."""

    principal_id: str
    policy: Policy
    #: ``context``: string, number and boolean values only
    context: dict[str, str | int | float | bool]
    usage_identifier_key: str | None = None

    def authorizer_map(self) -> dict[str, Any]:
        """``$context.authorizer``: ``principalId`` and the context's keys."""
        return {"principalId": self.principal_id, **self.context}

    def request_context(self) -> dict[str, Any]:
        """``requestContext.authorizer`` of a REST proxy event: values as strings, as AWS sends them."""
        out: dict[str, Any] = {"principalId": self.principal_id}
        for key, value in self.context.items():
            out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        out["integrationLatency"] = 0
        return out


@dataclass(frozen=True, slots=True)
class LambdaAuthorizer:
    """An ``AWS::ApiGateway::Authorizer`` of type TOKEN or REQUEST, compiled."""

    authorizer_id: str
    name: str
    type: str
    #: the function's ARN from ``AuthorizerUri``
    function: str
    #: ``(location, name)``: ``header``/``querystring``/``path`` of ``method.request.*``,
    #: ``stageVariables`` or ``context``
    identity_sources: tuple[tuple[str, str], ...]
    validation: re.Pattern[str] | None
    ttl_s: int
    #: ``AuthorizerCredentials``: a role API Gateway assumes to invoke (else the function's own
    #: resource policy must allow ``apigateway.amazonaws.com`` from ``{api}/authorizers/{id}``)
    credentials: str | None = None

    @property
    def caching(self) -> bool:
        """Whether results are cached (a TTL above 0)."""
        return self.ttl_s > 0


def _identity_source(text: str) -> tuple[str, str]:
    text = text.strip()
    if text.startswith("method.request."):
        kind, _, name = text.removeprefix("method.request.").partition(".")
        return kind, name
    kind, _, name = text.partition(".")
    return kind, name


def build_authorizers(stack: Stack, api_id: str) -> dict[str, LambdaAuthorizer]:
    """The API's Lambda authorizers by id (``Ref`` of the resource), compiled.

    Cognito authorizers are not built: a method using one answers 500 (a documented gap).
    """
    out: dict[str, LambdaAuthorizer] = {}
    for res in stack.of_type("AWS::ApiGateway::Authorizer"):
        props = res.properties
        kind = str(props.get("Type", "")).upper()
        if props.get("RestApiId") != api_id or kind not in ("TOKEN", "REQUEST"):
            continue
        function = function_from_uri(str(props.get("AuthorizerUri") or ""))
        if function is None:
            continue
        default_source = "method.request.header.Authorization" if kind == "TOKEN" else ""
        sources = str(props.get("IdentitySource") or default_source)
        expression = props.get("IdentityValidationExpression")
        out[res.physical_id] = LambdaAuthorizer(
            authorizer_id=res.physical_id,
            name=str(props.get("Name") or res.logical_id),
            type=kind,
            function=function,
            identity_sources=tuple(_identity_source(s) for s in sources.split(",") if s.strip()),
            validation=re.compile(str(expression)) if expression and kind == "TOKEN" else None,
            ttl_s=int(props.get("AuthorizerResultTtlInSeconds", 300)),
            credentials=str(props["AuthorizerCredentials"]) if props.get("AuthorizerCredentials") else None,
        )
    return out


@dataclass(slots=True)
class AuthorizerCache:
    """Authorizer results by (authorizer, identity values) until their TTL runs out."""

    entries: dict[tuple[str, tuple[str, ...]], tuple[float, Grant | None]] = field(default_factory=dict)

    def get(self, key: tuple[str, tuple[str, ...]], now: float) -> tuple[bool, Grant | None]:
        """(hit, grant); a cached ``None`` is a cached Unauthorized."""
        entry = self.entries.get(key)
        if entry is None or entry[0] <= now:
            return False, None
        return True, entry[1]

    def put(self, key: tuple[str, tuple[str, ...]], grant: Grant | None, expires: float) -> None:
        """Remember an answer (dropping expired entries now and then)."""
        if len(self.entries) > 10_000:
            self.entries = {k: v for k, v in self.entries.items() if v[0] > expires - 3600}
        self.entries[key] = (expires, grant)


def _grant(payload: bytes) -> Grant:
    """Parse the function's answer; ValueError when API Gateway would refuse it."""
    answer = json.loads(payload)
    if not isinstance(answer, dict) or "principalId" not in answer or "policyDocument" not in answer:
        raise ValueError("the answer has no principalId or policyDocument")
    context = answer.get("context") or {}
    if not isinstance(context, dict) or not all(
        isinstance(v, str | int | float | bool) for v in context.values()
    ):
        raise ValueError("context values must be strings, numbers or booleans")
    key = answer.get("usageIdentifierKey")
    return Grant(
        principal_id=str(answer["principalId"]),
        policy=Policy.parse(answer["policyDocument"]),
        context=dict(context),
        usage_identifier_key=str(key) if key is not None else None,
    )


def _unauthorized(log: str) -> GatewayError:
    return GatewayError(GatewayResponseType.UNAUTHORIZED, log=log)


async def authorize(
    authorizer: LambdaAuthorizer,
    *,
    lambdas: LambdaInvoker | None,
    cache: AuthorizerCache,
    now: float,
    arn: str,
    identity: Callable[[str, str], str | None],
    request_event: Callable[[], dict[str, Any]],
) -> Grant:
    """Run the authorizer for a request (or take its cached answer) and apply its policy to ``arn``.

    ``identity(location, name)`` reads an identity source; ``request_event()`` builds the REQUEST
    event's proxy fields. Raises GatewayError (401, 403 or 500) when the caller may not go on.
    """
    values = tuple(identity(kind, name) or "" for kind, name in authorizer.identity_sources)
    if authorizer.type == "TOKEN":
        token = values[0] if values else ""
        if not token:
            raise _unauthorized("no authorization token")
        if authorizer.validation is not None and not authorizer.validation.fullmatch(token):
            raise _unauthorized("token does not match the identity validation expression")
    elif authorizer.caching and not all(values):
        raise _unauthorized("an identity source is missing")
    key = (authorizer.authorizer_id, values)
    hit, grant = cache.get(key, now) if authorizer.caching else (False, None)
    if not hit:
        grant = await _invoke(authorizer, lambdas, arn, values, request_event)
        if authorizer.caching:
            cache.put(key, grant, now + authorizer.ttl_s)
    if grant is None:
        raise _unauthorized("the authorizer answered Unauthorized")
    decision = grant.policy.decide(arn)
    if decision is Decision.EXPLICIT_DENY:
        raise GatewayError(GatewayResponseType.ACCESS_DENIED, EXPLICIT_DENY, log=f"explicit deny of {arn}")
    if decision is Decision.IMPLICIT_DENY:
        raise GatewayError(GatewayResponseType.ACCESS_DENIED, IMPLICIT_DENY, log=f"no Allow for {arn}")
    return grant


async def _invoke(
    authorizer: LambdaAuthorizer,
    lambdas: LambdaInvoker | None,
    arn: str,
    values: tuple[str, ...],
    request_event: Callable[[], Mapping[str, Any]],
) -> Grant | None:
    """Invoke the function: a Grant, None for Unauthorized; GatewayError 500 for anything else."""
    config_error = GatewayResponseType.AUTHORIZER_CONFIGURATION_ERROR
    if lambdas is None:
        raise GatewayError(config_error, log="no Lambda service for the authorizer")
    if authorizer.type == "TOKEN":
        event: dict[str, Any] = {"type": "TOKEN", "authorizationToken": values[0], "methodArn": arn}
    else:
        event = {"type": "REQUEST", "methodArn": arn, **request_event()}
    try:
        result = await lambdas.invoke(authorizer.function, json.dumps(event).encode())
    except Exception as exc:
        raise GatewayError(config_error, log=f"authorizer {authorizer.name} not invoked: {exc}") from exc
    if result.function_error is not None:
        try:
            message = json.loads(result.payload).get("errorMessage")
        except (ValueError, AttributeError):
            message = None
        if message == "Unauthorized":
            return None
        raise GatewayError(config_error, log=f"authorizer {authorizer.name} failed: {message}")
    try:
        return _grant(result.payload)
    except ValueError as exc:
        raise GatewayError(config_error, log=f"authorizer {authorizer.name} answered: {exc}") from exc
