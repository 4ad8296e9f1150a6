"""Who may call a method, and how often: the stage between routing and validation.

In order, as API Gateway applies them to a method request:

1. the method's Lambda authorizer (``auth.py``): 401, 403 or 500 (also when the function's resource
   policy does not let API Gateway invoke it and there are no ``AuthorizerCredentials``); its grant fills
   ``$context.authorizer`` and the proxy event's ``requestContext.authorizer``;
2. with ``ApiKeyRequired``, the API key (``x-api-key``, or the authorizer's ``usageIdentifierKey``
   when the API's ``ApiKeySourceType`` is ``AUTHORIZER``) and its usage plan (``api_keys.py``): 403
   ``Forbidden``; then the plan's token bucket (per key, or per key and method where
   ``ApiStages[].Throttle`` names it) and its quota (``throttling.py``): 429;
3. the stage's ``MethodSettings`` throttle for the method: 429.

An ``AWS_IAM`` method first needs a SigV4-signed request (403 Missing Authentication Token without).

A method with none of these costs three attribute reads. Buckets, quota counters and the
authorizer cache live as long as the ``Admission`` (the server's lifetime).

Example:
    >>> from .auth import AuthorizerCache
    >>> Admission(lambdas=None).cache == AuthorizerCache()
    True
"""

from __future__ import annotations

from typing import Any, Protocol

from .auth import AuthorizerCache, Grant, LambdaAuthorizer, authorize, authorizer_arn, method_arn
from .errors import GatewayError, GatewayResponseType
from .events import request_authorizer_event
from .integrations.lambdas import LambdaInvoker
from .invocation import Invocation
from .java import JavaMap
from .throttling import QuotaCounter, Throttle, TokenBucket

__all__ = ["Admission"]


class PolicyJudge(Protocol):
    """The identity-policy check of a role (``asyncgate.local.iam.Iam``)."""

    def is_allowed(self, principal_arn: str, action: str, resource_arn: str) -> bool: ...


class Admission:
    """Authorizers, API keys, usage plans and throttles for one gateway."""

    def __init__(self, *, lambdas: LambdaInvoker | None, iam: PolicyJudge | None = None) -> None:
        self.lambdas = lambdas
        self.iam = iam
        self.cache = AuthorizerCache()
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}
        self._quotas: dict[tuple[str, str], QuotaCounter] = {}

    async def admit(self, inv: Invocation) -> None:
        """Let the request on, or raise GatewayError with AWS's answer."""
        assert inv.api is not None and inv.stage is not None and inv.method is not None
        method, stage = inv.method, inv.stage
        iam = method.authorization_type == "AWS_IAM"
        if method.authorizer is None and not method.api_key_required and not stage.throttles and not iam:
            return
        http_method = inv.request.method.upper()
        if iam:
            _signed(inv)
        if method.authorizer is not None:
            inv.grant = await self._authorize(inv, method.authorizer)
        if method.api_key_required:
            self._meter(inv, http_method)
        limit = stage.throttle(inv.resource_path, http_method)
        if limit is not None:
            key = (inv.api.api_id, stage.name, inv.resource_path, http_method)
            self._throttle(key, limit, inv.now, "stage method throttle")

    async def _authorize(self, inv: Invocation, authorizer: LambdaAuthorizer) -> Grant:
        assert inv.api is not None and inv.stage is not None and inv.context is not None
        api = inv.api
        if authorizer.credentials is None:
            allowed = api.invoke_permissions.allows(
                authorizer.function, authorizer_arn(api.api_id, authorizer.authorizer_id)
            )
        else:  # API Gateway assumes AuthorizerCredentials: that role must be allowed to invoke
            allowed = self.iam is None or self.iam.is_allowed(
                authorizer.credentials, "lambda:InvokeFunction", authorizer.function
            )
        if not allowed:
            raise GatewayError(
                GatewayResponseType.AUTHORIZER_CONFIGURATION_ERROR,
                log=f"authorizer {authorizer.name}: Invalid permissions on Lambda function",
            )
        req = inv.request
        grant = await authorize(
            authorizer,
            lambdas=self.lambdas,
            cache=self.cache,
            now=inv.now,
            arn=method_arn(inv.api.api_id, inv.stage.name, req.method, req.path),
            identity=lambda kind, name: _identity(inv, kind, name),
            request_event=lambda: request_authorizer_event(inv),
        )
        inv.context.hidden["authorizer"] = JavaMap(grant.authorizer_map())
        return grant

    def _meter(self, inv: Invocation, http_method: str) -> None:
        """API key, then the usage plan's throttle and quota."""
        assert inv.api is not None and inv.stage is not None and inv.context is not None
        api = inv.api
        if api.api_key_source == "AUTHORIZER":
            value = inv.grant.usage_identifier_key if inv.grant is not None else None
        else:
            value = inv.request.header("x-api-key")
        found = api.usage_plans.find(value, api.api_id, inv.stage.name)
        if found is None:
            log = "no API key" if not value else "API key unknown, disabled or not planned for the stage"
            raise GatewayError(GatewayResponseType.INVALID_API_KEY, log=log)
        key, plan = found
        identity = inv.context["identity"]
        identity["apiKey"], identity["apiKeyId"] = key.value, key.key_id
        selector = f"{inv.resource_path}/{http_method}"
        method_limit = plan.method_throttles.get((api.api_id, inv.stage.name, selector))
        if method_limit is not None:  # ApiStages[].Throttle: this method's own bucket for the key
            self._throttle((plan.plan_id, key.key_id, selector), method_limit, inv.now, "usage plan throttle")
        elif plan.throttle is not None:  # the plan's throttle: one bucket per key for the whole plan
            self._throttle((plan.plan_id, key.key_id), plan.throttle, inv.now, "usage plan throttle")
        if plan.quota is not None:
            counter = self._quotas.get((plan.plan_id, key.key_id))
            if counter is None or counter.quota != plan.quota:
                counter = self._quotas[(plan.plan_id, key.key_id)] = QuotaCounter(plan.quota)
            if not counter.take(inv.now):
                raise GatewayError(GatewayResponseType.QUOTA_EXCEEDED, log="usage plan quota spent")

    def _throttle(self, key: tuple[str, ...], limit: Throttle, now: float, what: str) -> None:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            bucket = self._buckets[key] = TokenBucket(limit, now)
        if not bucket.take(now):
            raise GatewayError(GatewayResponseType.THROTTLED, log=what)


def _signed(inv: Invocation) -> None:
    """``AWS_IAM``: the request must carry a SigV4 signature (header or query string), else 403
    Missing Authentication Token, as API Gateway answers an unsigned call. The signature itself and
    the caller's policies are not checked (there is no local secret to check it against); the access
    key id fills ``$context.identity.accessKey``."""
    assert inv.context is not None and inv.params is not None
    authorization = inv.request.header("Authorization") or ""
    if authorization.startswith("AWS4-HMAC-SHA256 "):
        credential = authorization.partition("Credential=")[2]
    elif inv.params.querystring.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256":
        credential = inv.params.querystring.get("X-Amz-Credential", "")
    else:
        raise GatewayError(GatewayResponseType.MISSING_AUTHENTICATION_TOKEN, log="AWS_IAM: not signed")
    inv.context["identity"]["accessKey"] = credential.split("/", 1)[0] or None


def _identity(inv: Invocation, kind: str, name: str) -> str | None:
    """An authorizer's identity source: ``method.request.{header,querystring,path}.x``,
    ``stageVariables.x`` or ``context.x``."""
    if kind == "header":
        return inv.request.header(name)
    params = inv.params
    if kind == "querystring" and params is not None:
        return params.querystring.get(name)
    if kind == "path" and params is not None:
        return params.path.get(name)
    if kind == "stageVariables" and inv.stage_variables is not None:
        value = inv.stage_variables.get(name)
        return None if value is None else str(value)
    if kind == "context" and inv.context is not None:
        node: Any = inv.context
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return None if node is None else str(node)
    return None
