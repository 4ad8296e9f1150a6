"""Lambda's REST wire protocol (``/2015-03-31/functions/...``) over ``LambdaService``.

Lambda speaks ``rest-json``: the operation is the method and path, the function name is a path segment
(a name, or an ARN, URL-encoded), Invoke's options travel in ``X-Amz-*`` headers and its payload is the
raw body. Errors carry the code in the ``x-amzn-ErrorType`` header and ``{"Type": "User", "message"}``
in the body; botocore's rest-json parser reads the code from that header and the message from the body's
``message`` (or ``Message``). Hand-written because it is a few routes over the service; the service
keeps all policy (validation, limits, errors) so the states engine and the gateway get the same.

Routes (``routes(service)``; the server mounts them):

=======  =============================================  ==========================================
POST     /2015-03-31/functions                          CreateFunction (201)
GET      /2015-03-31/functions/                         ListFunctions (``Marker``, ``MaxItems``)
GET      /2015-03-31/functions/{name}                   GetFunction
GET      /2015-03-31/functions/{name}/configuration     GetFunctionConfiguration
DELETE   /2015-03-31/functions/{name}                   DeleteFunction (204)
PUT      /2015-03-31/functions/{name}/code              UpdateFunctionCode
PUT      /2015-03-31/functions/{name}/configuration     UpdateFunctionConfiguration
POST     /2015-03-31/functions/{name}/invocations       Invoke (200 / 202 Event / 204 DryRun)
=======  =============================================  ==========================================

Invoke headers: ``X-Amz-Invocation-Type`` (RequestResponse, Event, DryRun), ``X-Amz-Log-Type: Tail``
(answers ``X-Amz-Log-Result``, base64 of the log's last 4 KB); answers ``X-Amz-Executed-Version`` and,
when the handler failed, ``X-Amz-Function-Error: Unhandled``. A ``Qualifier`` query parameter is
appended to the name as ``name:qualifier`` (only ``$LATEST`` exists locally).

CreateFunction takes ``Code.ZipFile`` (base64), or, as a local extension, ``Code: {"S3Bucket":
"hot-reload", "S3Key": "/abs/folder"}`` to run a folder in place (see ``lambdas/code.py``).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from asyncgate.local.errors import (
    AwsError,
    InvalidParameterValueException,
    InvalidRequestContentException,
    ServiceException,
)
from asyncgate.local.lambdas import LambdaService

__all__ = ["error_response", "routes"]

log = logging.getLogger("asyncgate.api.lambda")

PREFIX = "/2015-03-31/functions"
Endpoint = Callable[[Request], Awaitable[Response]]


def _json(status: int, body: dict[str, Any] | None, request_id: str) -> Response:
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(
        content,
        status_code=status,
        media_type="application/json",
        headers={"x-amzn-RequestId": request_id},
    )


def error_response(error: AwsError, request_id: str | None = None) -> Response:
    """An AWS error in Lambda's wire shape.

    Example:
        >>> from asyncgate.local.errors import ResourceNotFoundException
        >>> r = error_response(ResourceNotFoundException("Function not found: x"), "r1")
        >>> r.status_code, r.headers["x-amzn-errortype"], r.body
        (404, 'ResourceNotFoundException', b'{"Type":"User","message":"Function not found: x"}')
    """
    body = {"Type": "User" if error.sender_fault else "Service", "message": error.message}
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=error.http_status,
        media_type="application/json",
        headers={"x-amzn-ErrorType": error.code, "x-amzn-RequestId": request_id or str(uuid.uuid4())},
    )


def _guard(endpoint: Endpoint) -> Endpoint:
    """Turn any failure into Lambda's error shape; the server keeps serving."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except AwsError as exc:
            return error_response(exc)
        except Exception:
            log.exception("lambda API %s %s failed", request.method, request.url.path)
            return error_response(ServiceException("An internal error occurred."))

    return guarded


def _name(request: Request) -> str:
    name = unquote(str(request.path_params["name"]))
    qualifier = request.query_params.get("Qualifier")
    return f"{name}:{qualifier}" if qualifier else name


async def _body_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequestContentException("Could not parse request body into json: expected an object")
    return body


def routes(service: LambdaService) -> list[Route]:
    """The Lambda API's routes over ``service``, for the server to mount.

    Example:
        >>> from pathlib import Path
        >>> [r.path for r in routes(LambdaService(None, data_dir=Path("/tmp")))][:2]
        ['/2015-03-31/functions', '/2015-03-31/functions']
    """

    async def create_function(request: Request) -> Response:
        answer = await service.create_function(await _body_json(request))
        return _json(201, answer, str(uuid.uuid4()))

    async def list_functions(request: Request) -> Response:
        params: dict[str, Any] = {}
        if "Marker" in request.query_params:
            params["Marker"] = request.query_params["Marker"]
        if "MaxItems" in request.query_params:
            try:
                params["MaxItems"] = int(request.query_params["MaxItems"])
            except ValueError:
                raise InvalidParameterValueException("MaxItems must be an integer") from None
        return _json(200, await service.list_functions(params), str(uuid.uuid4()))

    async def get_function(request: Request) -> Response:
        return _json(200, await service.get_function({"FunctionName": _name(request)}), str(uuid.uuid4()))

    async def get_configuration(request: Request) -> Response:
        answer = await service.get_function_configuration({"FunctionName": _name(request)})
        return _json(200, answer, str(uuid.uuid4()))

    async def update_code(request: Request) -> Response:
        body = {**await _body_json(request), "FunctionName": _name(request)}
        return _json(200, await service.update_function_code(body), str(uuid.uuid4()))

    async def update_configuration(request: Request) -> Response:
        body = {**await _body_json(request), "FunctionName": _name(request)}
        return _json(200, await service.update_function_configuration(body), str(uuid.uuid4()))

    async def delete_function(request: Request) -> Response:
        await service.delete_function({"FunctionName": _name(request)})
        return _json(204, None, str(uuid.uuid4()))

    async def invoke(request: Request) -> Response:
        invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
        log_type = request.headers.get("x-amz-log-type", "None")
        if log_type not in ("None", "Tail"):
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{log_type}' at 'logType' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Tail, None]"
            )
        result = await service.invoke(_name(request), await request.body(), invocation_type=invocation_type)
        headers = {
            "x-amzn-RequestId": result.request_id or str(uuid.uuid4()),
            "X-Amz-Executed-Version": result.executed_version,
        }
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if log_type == "Tail" and invocation_type == "RequestResponse":
            headers["X-Amz-Log-Result"] = base64.b64encode(result.log_tail.encode()).decode()
        return Response(
            result.payload, status_code=result.status_code, media_type="application/json", headers=headers
        )

    return [
        Route(PREFIX, _guard(create_function), methods=["POST"]),
        Route(PREFIX, _guard(list_functions), methods=["GET"]),
        Route(PREFIX + "/", _guard(list_functions), methods=["GET"]),
        Route(PREFIX + "/{name}", _guard(get_function), methods=["GET"]),
        Route(PREFIX + "/{name}", _guard(delete_function), methods=["DELETE"]),
        Route(PREFIX + "/{name}/configuration", _guard(get_configuration), methods=["GET"]),
        Route(PREFIX + "/{name}/configuration", _guard(update_configuration), methods=["PUT"]),
        Route(PREFIX + "/{name}/code", _guard(update_code), methods=["PUT"]),
        Route(PREFIX + "/{name}/invocations", _guard(invoke), methods=["POST"]),
    ]
