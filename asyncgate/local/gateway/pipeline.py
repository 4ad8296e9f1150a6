"""The gateway: a request to a deployed stage in, the response API Gateway would give out.

Example:
    >>> import asyncio
    >>> from .model import RestApi, Stage, build_integration, Method
    >>> from .routing import Router
    >>> integ = build_integration({"Type": "MOCK",
    ...     "RequestTemplates": {"application/json": '{"statusCode": 200}'},
    ...     "IntegrationResponses": [
    ...         {"StatusCode": "200", "ResponseTemplates": {"application/json": '{"ok": true}'}}]})
    >>> m = Method("GET", "/", "root", integ, {}, "NONE", False)
    >>> api = RestApi("abc123", "demo", (Stage("main", {}, "d1"),), Router.build([("/", "GET", m)]))
    >>> r = asyncio.run(Gateway([api], aws=None).handle(GatewayRequest("GET", "abc123", "main", "/")))
    >>> r.status, r.body
    (200, b'{"ok": true}')
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from ..deadlines import Deadlines
from ..errors import AwsError
from ..logs import Logs
from .access_log import AccessLog, access_log_context
from .admission import Admission, PolicyJudge
from .auth import method_arn
from .events import proxy_event_of
from .integrations.aws import AwsCaller, IntegrationResult, call_aws
from .integrations.http import HttpCaller, expand_uri
from .integrations.lambdas import (
    LambdaInvoker,
    MalformedProxyAnswer,
    function_from_uri,
    invoke_custom,
    parse_proxy_answer,
)
from .integrations.mock import call_mock
from .invocation import GatewayRequest, GatewayResponse, Invocation, media_type, new_ids
from .mapping import InvalidBody
from .model import Integration, IntegrationResponse, IntegrationType, PassthroughBehavior, RestApi
from .parameters import integration_request, response_headers
from .responses import GatewayError, GatewayResponseType, error_response
from .routing import RouteMiss
from .selection import NO_MATCH_MESSAGE, select_response
from .vtl import Template, TemplateFailed

__all__ = ["MAX_PAYLOAD_BYTES", "Gateway", "GatewayRequest", "GatewayResponse"]

LOG = logging.getLogger(__name__)

#: API Gateway's hard payload quota (10 MB).
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
#: what a client gets past it (recorded in many projects' tests: plain text, not a JSON gateway response)
TOO_LARGE_BODY = f"HTTP content length exceeded {MAX_PAYLOAD_BYTES} bytes.".encode()

_Step = Callable[[Invocation], Awaitable[GatewayResponse | None]]

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_HOP_BY_HOP = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "content-length"}
)


_Fail = GatewayError  # the stages end a request by raising it



class Gateway:
    """Serves the deployed stages of REST APIs.

    Internals — the stages, in order; each may end the request with a response:

    1. ``_route``: API id and stage, then the resource tree and method (403 Missing Authentication
       Token for any miss).
    2. ``_admit``: who may call and how often: the Lambda authorizer (``auth.py``: 401, 403, 500),
       the API key and its usage plan (``api_keys.py``: 403 Forbidden), the plan's throttle and
       quota and the stage's method throttle (``throttling.py``: 429).
    3. ``_validate``: the 10 MB payload quota (413 "HTTP content length exceeded 10485760 bytes."),
       then the method's request validator (``validation.py``: 400).
    4. ``_map_request``: request template chosen by Content-Type (absent: application/json) and the
       passthrough behaviour (415), rendered with ``$input``/``$util``/``$context``/``$stageVariables``
       (400 when the template reads a body that is not JSON; 500 when the template fails); request
       parameters and ``$context.requestOverride`` give the integration's headers, query and path.
    5. ``_integrate``: AWS (the AwsCaller; Lambda functions through ``lambdas``), MOCK, HTTP, or the
       proxies (AWS_PROXY to Lambda, HTTP_PROXY), within the integration timeout (504).
    6. ``_map_response``: a proxy's answer as is; else the integration response by selection pattern
       (status code; a Lambda's error message) (500 when none), its template over the integration's
       body, response parameters and ``$context.responseOverride``.

    Errors are AWS's default gateway responses, or the API's ``AWS::ApiGateway::GatewayResponse``
    for their type (``responses.py``). Every response gets ``x-amzn-RequestId``, ``x-amz-apigw-id``
    and ``X-Amzn-Trace-Id``; a stage with ``AccessLogSetting`` gets its line (``access_log.py``).
    Nothing escapes ``handle``: an unexpected error is logged and answered
    500 Internal server error.
    """

    def __init__(
        self,
        apis: Iterable[RestApi],
        *,
        aws: AwsCaller | None,
        lambdas: LambdaInvoker | None = None,
        http: HttpCaller | None = None,
        logs: Logs | None = None,
        iam: PolicyJudge | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._apis = {api.api_id: api for api in apis}
        self._iam = iam
        self._aws = aws
        self._lambdas = lambdas
        self._http = http
        self._logs = logs
        self._clock = clock
        self._admission = Admission(lambdas=lambdas, iam=iam)
        #: integration timeouts in ms -> their Deadlines
        self._limits: dict[int, Deadlines] = {}
        self._stages: tuple[_Step, ...] = (
            self._route,
            self._admission.admit,
            self._validate,
            self._map_request,
            self._integrate,
            self._map_response,
        )

    async def handle(self, request: GatewayRequest) -> GatewayResponse:
        """Answer one request as API Gateway would; never raises."""
        now = self._clock()
        request_id, extended_id, trace_id = new_ids(now)
        inv = Invocation(request, now, request_id, extended_id, trace_id)
        response = await self._run(inv)
        if inv.stage is not None and inv.stage.access_log is not None and self._logs is not None:
            self._access_log(inv, inv.stage.access_log, response)
        return response

    async def _run(self, inv: Invocation) -> GatewayResponse:
        request = inv.request
        try:
            for stage in self._stages:
                response = await stage(inv)
                if response is not None:
                    return self._finish(inv, response)
        except _Fail as fail:
            if fail.log:
                LOG.info("%s %s %s: %s", inv.request_id, request.method, request.path, fail.log)
            return self._error(inv, fail.kind, fail.message)
        except Exception:
            LOG.exception("%s %s %s: gateway failure", inv.request_id, request.method, request.path)
        return self._error(inv, GatewayResponseType.DEFAULT_5XX)

    # -- stages -----------------------------------------------------------------------------------
    async def _route(self, inv: Invocation) -> None:
        req = inv.request
        api = self._apis.get(req.api_id)
        inv.api = api  # its gateway responses dress the errors from here on
        stage = api.stage(req.stage) if api is not None else None
        if api is None or stage is None:
            raise _Fail(GatewayResponseType.MISSING_AUTHENTICATION_TOKEN, log="no such API or stage")
        match = api.router.match(req.method, req.path)
        if isinstance(match, RouteMiss):
            raise _Fail(GatewayResponseType.MISSING_AUTHENTICATION_TOKEN, log=match.reason)
        inv.api, inv.stage, inv.method = api, stage, match.target
        inv.build_context(match.resource_path, match.path_params)

    async def _validate(self, inv: Invocation) -> GatewayResponse | None:
        if len(inv.request.body) > MAX_PAYLOAD_BYTES:
            # Not a gateway response: AWS's front door answers in plain text, before any API logic.
            LOG.info("%s: payload over 10 MB", inv.request_id)
            return GatewayResponse(413, [("Content-Type", "text; charset=utf-8")], TOO_LARGE_BODY)
        assert inv.method is not None
        if inv.method.validation is not None:
            assert inv.params is not None
            inv.method.validation.check(
                path=inv.params.path,
                query=inv.params.querystring,
                headers=inv.params.header,
                media_type=media_type(inv.request.header("Content-Type")) or "application/json",
                body=inv.request.body,
            )
        return None

    async def _map_request(self, inv: Invocation) -> None:
        assert inv.method is not None
        integration = inv.method.integration
        if integration.type in (IntegrationType.AWS_PROXY, IntegrationType.HTTP_PROXY):
            inv.integration_body = inv.request.body  # proxies take the request as it came
            return
        content_type = media_type(inv.request.header("Content-Type")) or "application/json"
        assert inv.api is not None
        body = _convert(integration.content_handling, inv.request.body, inv.api.is_binary(content_type))
        template = integration.request_templates.get(content_type)
        if template is None:
            behaviour = integration.passthrough
            if behaviour is PassthroughBehavior.NEVER or (
                behaviour is PassthroughBehavior.WHEN_NO_TEMPLATES and integration.request_templates
            ):
                raise _Fail(GatewayResponseType.UNSUPPORTED_MEDIA_TYPE, log=f"no template for {content_type}")
            inv.integration_body = body
            return
        inv.integration_body = self._render(inv, template, body, request_side=True)

    async def _integrate(self, inv: Invocation) -> None:
        assert inv.method is not None
        integration = inv.method.integration
        if integration.type is IntegrationType.MOCK:
            inv.result = call_mock(inv.integration_body)
            return
        try:
            pending = self._call(inv, integration)
            async with self._time_limit(integration.timeout_ms):
                inv.result = await pending
            inv.integration_ms = int((self._clock() - inv.now) * 1000)
        except TimeoutError as exc:
            raise _Fail(GatewayResponseType.INTEGRATION_TIMEOUT, log="integration timed out") from exc
        except AwsError as exc:  # e.g. Lambda's Invoke refused the call: a configuration error on AWS
            kind = GatewayResponseType.API_CONFIGURATION_ERROR
            raise _Fail(kind, log=f"integration failed: {exc}") from exc
        except (OSError, ValueError) as exc:  # the back end could not be reached or answered garbage
            raise _Fail(GatewayResponseType.INTEGRATION_FAILURE, log=f"integration failed: {exc}") from exc
        if integration.type is IntegrationType.AWS_PROXY:
            inv.proxy_response = self._proxy_answer(inv, inv.result)
        elif integration.type is IntegrationType.HTTP_PROXY:
            result = inv.result
            inv.proxy_response = GatewayResponse(result.status, list(result.headers.items()), result.body)

    def _call(self, inv: Invocation, integration: Integration) -> Awaitable[IntegrationResult]:
        """The awaitable that calls the back end (not awaited here: the timeout wraps it)."""
        uri = _with_stage_variables(integration.uri, inv)
        function = function_from_uri(uri)
        if integration.type is IntegrationType.AWS_PROXY:
            if self._lambdas is None or function is None:
                raise _Fail(GatewayResponseType.API_CONFIGURATION_ERROR, log="no Lambda function to proxy to")
            self._check_permission(inv, integration, function)
            return self._invoke_proxy(inv, function)
        if integration.type is IntegrationType.HTTP_PROXY:
            if self._http is None:
                raise _Fail(GatewayResponseType.API_CONFIGURATION_ERROR, log="no HTTP caller configured")
            assert inv.params is not None
            url = expand_uri(uri, inv.params.path)
            if inv.request.query_string:
                url += ("&" if "?" in url else "?") + inv.request.query_string
            headers = {k: v for k, v in inv.request.headers if k.lower() not in _HOP_BY_HOP}
            return self._http.request(
                method=inv.request.method, url=url, headers=headers, body=inv.request.body
            )
        if integration.type is IntegrationType.AWS and function is not None and self._lambdas is not None:
            self._check_permission(inv, integration, function)
            return invoke_custom(self._lambdas, function, inv.integration_body)
        call = integration_request(inv, integration.request_parameters)
        if integration.type is IntegrationType.AWS:
            if self._aws is None:
                raise _Fail(GatewayResponseType.API_CONFIGURATION_ERROR, log="no AWS caller configured")
            return call_aws(
                self._aws,
                service=integration.service,
                action=integration.action,
                credentials=integration.credentials,
                request=call,
            )
        if self._http is None:
            raise _Fail(GatewayResponseType.API_CONFIGURATION_ERROR, log="no HTTP caller configured")
        return self._http.request(
            method=integration.http_method,
            url=expand_uri(uri, call.path, call.query),
            headers=call.headers,
            body=call.body,
        )

    def _time_limit(self, timeout_ms: int) -> Deadlines:
        """The integration timeout: one ``Deadlines`` (one loop timer) per timeout value, not a timer
        scheduled and cancelled per request as ``asyncio.timeout`` does (~3 µs a request)."""
        limit = self._limits.get(timeout_ms)
        if limit is None:
            limit = self._limits[timeout_ms] = Deadlines(timeout_ms / 1000)
        return limit

    def _check_permission(self, inv: Invocation, integration: Integration, function: str) -> None:
        """A Lambda integration needs the function's permission for this method, or a role that may invoke."""
        assert inv.api is not None and inv.stage is not None
        if integration.credentials is not None:
            # With credentials, API Gateway assumes the role: the role must allow the invoke.
            if self._iam is not None and not self._iam.is_allowed(
                integration.credentials, "lambda:InvokeFunction", function
            ):
                raise _Fail(
                    GatewayResponseType.API_CONFIGURATION_ERROR,
                    log="Execution failed due to configuration error: Invalid permissions on Lambda function",
                )
            return
        req = inv.request
        source = method_arn(inv.api.api_id, inv.stage.name, req.method, req.path)
        if not inv.api.invoke_permissions.allows(function, source):
            raise _Fail(
                GatewayResponseType.API_CONFIGURATION_ERROR,
                log="Execution failed due to configuration error: Invalid permissions on Lambda function",
            )

    async def _invoke_proxy(self, inv: Invocation, function: str) -> IntegrationResult:
        assert self._lambdas is not None
        result = await self._lambdas.invoke(function, proxy_event_of(inv))
        if result.function_error is not None:
            return IntegrationResult(502, {}, result.payload, lambda_error="")
        return IntegrationResult(200, {}, result.payload)

    def _proxy_answer(self, inv: Invocation, result: IntegrationResult) -> GatewayResponse:
        if result.lambda_error is not None:
            raise _Fail(GatewayResponseType.BAD_GATEWAY, log="Lambda proxy function failed")
        assert inv.api is not None
        first_accept = (inv.request.header("Accept") or "").split(",", 1)[0]
        try:
            decode = inv.api.is_binary(media_type(first_accept))
            status, headers, body = parse_proxy_answer(result.body, decode=decode)
        except MalformedProxyAnswer as exc:
            raise _Fail(GatewayResponseType.BAD_GATEWAY, log="Malformed Lambda proxy response") from exc
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.insert(0, ("Content-Type", "application/json"))
        return GatewayResponse(status, headers, body)

    async def _map_response(self, inv: Invocation) -> GatewayResponse:
        if inv.proxy_response is not None:
            return inv.proxy_response
        assert inv.method is not None and inv.result is not None and inv.context is not None
        result = inv.result
        integration = inv.method.integration
        if result.lambda_error is None and function_from_uri(integration.uri) is not None:
            response = integration.default_response  # a Lambda success takes the default response
        else:
            value = result.lambda_error if result.lambda_error is not None else str(result.status)
            response = select_response(integration, value)
        if response is None:
            raise _Fail(GatewayResponseType.API_CONFIGURATION_ERROR, log=NO_MATCH_MESSAGE)
        inv.response = response
        media_type, template = _response_template(response, inv.request.header("Accept"))
        payload = result.body
        if response.content_handling == "CONVERT_TO_BINARY":
            payload, template = _convert("CONVERT_TO_BINARY", payload, False), None
        elif response.content_handling == "CONVERT_TO_TEXT":
            payload = _convert("CONVERT_TO_TEXT", payload, True)
        body = self._render(inv, template, payload, request_side=False) if template else payload
        headers = {"Content-Type": media_type}
        headers.update(response_headers(response.parameters, result))
        override = inv.context["responseOverride"]
        for name, value in override["header"].items():
            headers[str(name)] = "" if value is None else str(value)
        status = int(response.status_code)
        if "status" in override:
            try:
                status = int(str(override["status"]))
            except ValueError:
                LOG.info("%s: ignoring responseOverride.status %r", inv.request_id, override["status"])
        return GatewayResponse(status, list(headers.items()), body)

    # -- helpers ----------------------------------------------------------------------------------
    def _render(self, inv: Invocation, template: Template, payload: bytes, *, request_side: bool) -> bytes:
        if template.static is not None:  # no $input: the body is not even looked at, as on AWS
            return template.static.encode()
        try:
            return template.render(inv.template_variables(payload)).encode()
        except InvalidBody as exc:
            if request_side:
                raise _Fail(
                    GatewayResponseType.BAD_REQUEST_BODY,
                    f"Could not parse request body into json: {exc}",
                    log=f"request body is not JSON: {exc}",
                ) from exc
            raise _Fail(
                GatewayResponseType.API_CONFIGURATION_ERROR, log=f"response body is not JSON: {exc}"
            ) from exc
        except TemplateFailed as exc:
            side = "request" if request_side else "response"
            raise _Fail(
                GatewayResponseType.API_CONFIGURATION_ERROR, log=f"Unable to transform {side}: {exc}"
            ) from exc

    def _access_log(self, inv: Invocation, log: AccessLog, response: GatewayResponse) -> None:
        """Write the stage's access log line (one stream per API stage)."""
        assert self._logs is not None and inv.api is not None and inv.stage is not None
        done = self._clock()
        line = log.render(access_log_context(inv, response, done))
        self._logs.put(log.group, f"{inv.api.api_id}-{inv.stage.name}", [(int(done * 1000), line)])

    def _finish(self, inv: Invocation, response: GatewayResponse) -> GatewayResponse:
        headers = list(response.headers)
        headers += [
            ("x-amzn-RequestId", inv.request_id),
            ("x-amz-apigw-id", inv.extended_id),
            ("X-Amzn-Trace-Id", inv.trace_id),
        ]
        return GatewayResponse(response.status, headers, response.body)

    def _error(
        self, inv: Invocation, kind: GatewayResponseType, message: str | None = None
    ) -> GatewayResponse:
        try:
            return self._finish(inv, error_response(inv, kind, message))
        except Exception:  # a custom gateway response must not break the error path itself
            LOG.exception("%s: gateway response %s failed", inv.request_id, kind.name)
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind.error_type)]
            return self._finish(inv, GatewayResponse(kind.status, headers, kind.body(message)))


def _with_stage_variables(uri: str, inv: Invocation) -> str:
    """``${stageVariables.name}`` in an integration URI (an HTTP URL, a Lambda function ARN)."""
    if "${stageVariables." not in uri:
        return uri
    variables: Mapping[str, Any] = inv.stage_variables or {}
    return _STAGE_VARIABLE.sub(lambda m: str(variables.get(m.group(1)) or ""), uri)


def _convert(handling: str | None, payload: bytes, binary: bool) -> bytes:
    """``ContentHandling``: ``CONVERT_TO_TEXT`` base64-encodes a binary payload, ``CONVERT_TO_BINARY``
    decodes a base64 text payload (a payload that is not base64 is API_CONFIGURATION_ERROR, as the
    gateway response reference says); without it the payload passes as it is."""
    if handling == "CONVERT_TO_TEXT" and binary:
        return base64.b64encode(payload)
    if handling == "CONVERT_TO_BINARY" and not binary:
        try:
            return base64.b64decode(payload, validate=True)
        except ValueError as exc:
            raise _Fail(GatewayResponseType.API_CONFIGURATION_ERROR, log="base64 decoding failed") from exc
    return payload


def _response_template(response: IntegrationResponse, accept: str | None) -> tuple[str, Template | None]:
    """The response template for the client's Accept (else application/json, else the first one),
    with its media type, which becomes the response's Content-Type."""
    templates = response.templates
    if not templates:
        return "application/json", None
    for media in (accept or "").split(","):
        key = media_type(media) or ""
        if key in templates:
            return key, templates[key]
    if "application/json" in templates:
        return "application/json", templates["application/json"]
    return next(iter(templates.items()))
