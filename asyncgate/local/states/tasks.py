"""The engine's one view of the outside world: ``TaskInvoker``, and Lambda behind it.

Why a protocol: the same engine serves StartExecution, StartSyncExecution and TestState (which
mocks tasks), and tests drive it with fakes of AWS services. The engine hands a Task's resource and
its effective payload to ``invoke`` and gets the task result back, or a ``StatesError`` carrying the
exact error and cause AWS would record. Timeouts (TimeoutSeconds) are the engine's business.

Resource forms understood by ``LambdaTasks``:

- ``arn:aws:states:::lambda:invoke`` (optimised integration): the payload is the Parameters
  ``{FunctionName, Payload, Qualifier?, InvocationType?}``; the result is the Invoke response
  ``{ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode}``.
- ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`` (the legacy form): the payload is the
  function's event and the result the function's return value. Any account id works: the function
  is looked up by name, as the conformance recordings use account 111111111111.

A function error becomes ``error = errorType`` and ``cause`` = the error document as compact JSON;
a missing function ``Lambda.ResourceNotFoundException`` with the Java SDK's message.

Example:
    >>> lambda_target("arn:aws:lambda:us-east-1:111111111111:function:f:live")
    'f:live'
    >>> resource_kind("arn:aws:states:::lambda:invoke"), resource_kind("arn:aws:lambda:us-east-1:1:function:f")
    ('lambda:invoke', 'lambda-function')
"""  # noqa: E501

from __future__ import annotations

import json
import time
import uuid
from email.utils import formatdate
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from ..ids import random_hex, random_uuid
from ..jsontext import compact
from .errors import StatesError, StatesErrorName

__all__ = ["LambdaTasks", "TaskInvoker", "lambda_target", "resource_kind"]


@runtime_checkable
class TaskInvoker(Protocol):
    """Runs one Task's work. Raise ``StatesError`` for a failure with AWS's error and cause."""

    async def invoke(self, resource: str, payload: Any, *, timeout_s: float | None) -> Any: ...


@lru_cache(maxsize=1024)
def resource_kind(resource: str) -> str:
    """``lambda:invoke``, ``lambda-function``, or the integration named by an ``arn:aws:states:::`` ARN.

    Example:
        >>> resource_kind("arn:aws:states:::sqs:sendMessage.waitForTaskToken")
        'sqs:sendMessage.waitForTaskToken'
    """
    parts = resource.split(":")
    if len(parts) >= 6 and parts[2] == "lambda" and parts[5] == "function":
        return "lambda-function"
    if (
        resource.startswith("arn:")
        and len(parts) >= 7
        and parts[2] == "states"
        and parts[3] == parts[4] == ""
    ):
        return ":".join(parts[5:])
    return resource


@lru_cache(maxsize=1024)
def lambda_target(resource: str) -> str:
    """The function name (with its qualifier) from a function ARN; a bare name passes through."""
    parts = resource.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return ":".join(parts[6:])
    return resource


@lru_cache(maxsize=1024)
def _name_of(function: str) -> str:
    """FunctionName may be a name, a partial ARN ``ACCOUNT:function:NAME`` or a full ARN."""
    if function.startswith("arn:"):
        return lambda_target(function)
    parts = function.split(":")
    if len(parts) >= 3 and parts[1] == "function":
        return ":".join(parts[2:])
    return function


class LambdaTasks:
    """``TaskInvoker`` over ``LambdaService`` (``asyncgate.local.lambdas``).

    Example:
        >>> LambdaTasks(lambdas=None, region="us-east-1").region
        'us-east-1'
    """

    def __init__(self, lambdas: Any, *, region: str = "us-east-1", account: str = "000000000000",
                 services: Any = None) -> None:
        self.lambdas = lambdas
        self.region = region
        self.account = account
        #: the other AWS services' integrations (``sdk_tasks.ServiceTasks``), or None
        self.services = services

    async def invoke(self, resource: str, payload: Any, *, timeout_s: float | None) -> Any:
        kind = resource_kind(resource)
        if kind == "lambda-function":
            result = await self._call(lambda_target(resource), payload)
            return _decode(result.payload)
        if kind in ("lambda:invoke", "lambda:invoke.waitForTaskToken"):
            if not isinstance(payload, dict) or not isinstance(payload.get("FunctionName"), str):
                raise StatesError(
                    StatesErrorName.RUNTIME,
                    "The field 'FunctionName' is required for the lambda:invoke integration",
                )
            result = await self._call(
                _name_of(payload["FunctionName"]),
                {} if payload.get("Payload") is None else payload["Payload"],  # null arrives as {}
                invocation_type=payload.get("InvocationType", "RequestResponse"),
                legacy=False,
            )
            return self._invoke_response(result)
        if self.services is not None and self.services.handles(kind):
            return await self.services.invoke(resource, payload, timeout_s=timeout_s)
        raise StatesError(
            StatesErrorName.RUNTIME,
            f"The resource '{resource}' is not supported by the local runtime (asyncgate "
            "runs Lambda tasks: arn:aws:states:::lambda:invoke and Lambda function ARNs)",
        )

    async def _call(
        self, function: str, event: Any, *, invocation_type: str = "RequestResponse", legacy: bool = True
    ) -> Any:
        from ..errors import ResourceNotFoundException

        # lambda:invoke sends a string Payload as the request body itself ("true" arrives as true)
        raw = isinstance(event, str) and not legacy
        body = event.encode() if raw else _dumps(event).encode()
        try:  # a body we encoded is JSON: Lambda need not parse it again to check
            result = await self.lambdas.invoke(
                function, body, invocation_type=invocation_type, json_body=not raw
            )
        except ResourceNotFoundException:
            name, _, qualifier = function.partition(":")
            arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}:{qualifier or '$LATEST'}"
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: "
                f"ResourceNotFoundException; Request ID: {uuid.uuid4()}; Proxy: null)",
            ) from None
        if result.function_error:
            doc = _decode(result.payload)
            error = doc.get("errorType") if isinstance(doc, dict) else None
            # a function ARN records Lambda's error document as sent; lambda:invoke re-serialises it
            if legacy:
                cause = result.payload.decode("utf-8", "replace") if result.payload else None
            else:
                cause = _dumps(doc) if doc is not None else None
            raise StatesError(error or "Lambda.Unknown", cause)
        return result

    def _invoke_response(self, result: Any) -> dict[str, Any]:
        request_id = random_uuid()
        length = str(len(result.payload))
        date = _http_date()
        version = result.executed_version or "$LATEST"
        trace = f"Root=1-{random_hex(8)}-{random_hex(24)};Sampled=0"
        headers = {
            "Connection": "keep-alive",
            "Content-Length": length,
            "Content-Type": "application/json",
            "Date": date,
            "X-Amz-Executed-Version": version,
            "x-amzn-Remapped-Content-Length": "0",
            "x-amzn-RequestId": request_id,
            "X-Amzn-Trace-Id": trace,
        }
        all_order = (
            "X-Amz-Executed-Version",
            "x-amzn-Remapped-Content-Length",
            "Connection",
            "x-amzn-RequestId",
            "Content-Length",
            "Date",
            "X-Amzn-Trace-Id",
            "Content-Type",
        )
        return {
            "ExecutedVersion": version,
            "Payload": _decode(result.payload),
            "SdkHttpMetadata": {
                "AllHttpHeaders": {k: [headers[k]] for k in all_order},
                "HttpHeaders": headers,
                "HttpStatusCode": result.status_code,
            },
            "SdkResponseMetadata": {"RequestId": request_id},
            "StatusCode": result.status_code,
        }


_DATE: list[Any] = [None, ""]


def _http_date() -> str:
    """The ``Date`` header's text for now, formatted once per second (it has whole seconds)."""
    second = int(time.time())
    if _DATE[0] != second:
        _DATE[0], _DATE[1] = second, formatdate(second, usegmt=True)
    return str(_DATE[1])


def _dumps(value: Any) -> str:
    return compact(value)


def _decode(payload: bytes) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")
