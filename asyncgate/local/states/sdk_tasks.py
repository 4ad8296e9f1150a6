"""Task states that call AWS services other than Lambda: ``aws-sdk:*`` and the optimized integrations.

Resource forms (``ServiceTasks.handles``):

- ``arn:aws:states:::aws-sdk:<service>:<apiAction>`` for sqs, sns, dynamodb, kinesis, eventbridge and
  s3: Parameters in the API's PascalCase member names, the result as the SDK returns it (no
  ``ResponseMetadata``). Blob members take a string as its UTF-8 bytes and any other JSON value as
  its JSON text (the seed's ``"Data.$": "$"`` puts the input object on the stream); blobs in results
  come back base64-encoded and timestamps as ISO-8601 strings, as Step Functions' JSON carries them.
- optimized: ``sqs:sendMessage``, ``sns:publish``, ``dynamodb:putItem|getItem|updateItem|deleteItem``,
  ``events:putEvents``. A non-string ``MessageBody``/``Message``/``Detail`` is sent as JSON text; SQS,
  SNS and DynamoDB results carry ``SdkHttpMetadata``/``SdkResponseMetadata`` as AWS documents.

Each call is judged by IAM first, as the state machine's role (``RoleArn``): the role must allow
``<service>:<Action>`` on the resource the parameters name. A denial fails the task the way the service
would answer it.

Errors (Step Functions developer guide, "AWS SDK service integrations"): ``<ServiceName>.<ErrorName>``,
both PascalCase, the name always ending in ``Exception`` even when the service's own code does not
(S3's ``BucketAlreadyExists`` is ``S3.BucketAlreadyExistsException``). Service names are the Java SDK
v2 client names (``Sqs``, ``Sns``, ``DynamoDb``, ``Kinesis``, ``EventBridge``, ``S3``); an error code the
service does not model (SQS's ``AccessDenied``) surfaces as that SDK's base exception
(``Sqs.SqsException``). Optimized integrations use the SDK v1 names (``SQS``, ``SNS``, ``DynamoDB``,
``EventBridge``; base ``AmazonSQSException``...) and v1's cause format.

The role the running execution acts as is a context variable (``ACTING_ROLE``) that the Task state sets
around its call: the ``TaskInvoker`` protocol is shared with TestState's mocks and stays unchanged.

Example:
    >>> ServiceTasks.handles("aws-sdk:kinesis:putRecords"), ServiceTasks.handles("lambda:invoke")
    (True, False)
    >>> error_name("Sqs", "QueueDoesNotExist", {"QueueDoesNotExist"}, base="SqsException")
    'Sqs.QueueDoesNotExistException'
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import string
from contextvars import ContextVar
from typing import Any

from ..aws_services.resources import resource_arn
from ..jsontext import compact
from .errors import StatesError, StatesErrorName
from .tasks import resource_kind

__all__ = ["ACTING_ROLE", "ServiceTasks", "error_name"]

#: the state machine role of the execution whose Task is calling (set by the Task state)
ACTING_ROLE: ContextVar[str] = ContextVar("asyncgate_acting_role", default="")

#: aws-sdk service name -> (botocore service, IAM prefix, SDK v2 client name)
_SDK: dict[str, tuple[str, str, str]] = {
    "sqs": ("sqs", "sqs", "Sqs"),
    "sns": ("sns", "sns", "Sns"),
    "dynamodb": ("dynamodb", "dynamodb", "DynamoDb"),
    "kinesis": ("kinesis", "kinesis", "Kinesis"),
    "eventbridge": ("events", "events", "EventBridge"),
    "s3": ("s3", "s3", "S3"),
}

#: optimized integrations: resource -> (botocore service, SDK v1 prefix, v1 service id, JSON-text field)
_OPTIMIZED: dict[str, tuple[str, str, str, str | None]] = {
    "sqs:sendMessage": ("sqs", "SQS", "AmazonSQS", "MessageBody"),
    "sns:publish": ("sns", "SNS", "AmazonSNS", "Message"),
    "dynamodb:putItem": ("dynamodb", "DynamoDB", "AmazonDynamoDBv2", None),
    "dynamodb:getItem": ("dynamodb", "DynamoDB", "AmazonDynamoDBv2", None),
    "dynamodb:updateItem": ("dynamodb", "DynamoDB", "AmazonDynamoDBv2", None),
    "dynamodb:deleteItem": ("dynamodb", "DynamoDB", "AmazonDynamoDBv2", None),
    "events:putEvents": ("events", "EventBridge", "EventBridge", None),
}
_SUFFIXES = (".waitForTaskToken",)


def _kind(resource: str) -> str:
    kind = resource_kind(resource)
    for suffix in _SUFFIXES:
        kind = kind.removesuffix(suffix)
    return kind


def error_name(prefix: str, code: str, modeled: set[str], *, base: str) -> str:
    """``<prefix>.<Code>Exception`` for an error the service models, else ``<prefix>.<base>``."""
    name = code.rsplit(".", 1)[-1].rsplit("#", 1)[-1]
    if name in modeled or name + "Exception" in modeled:
        return f"{prefix}.{name if name.endswith('Exception') else name + 'Exception'}"
    return f"{prefix}.{base}"


def _session_name() -> str:
    """Step Functions assumes the role under a random session name (32 letters)."""
    return "".join(random.choices(string.ascii_letters, k=32))


def _request_id() -> str:
    return "".join(random.choices("0123456789abcdef", k=32))


class ServiceTasks:
    """``TaskInvoker`` for the emulated services (``asyncgate.local.aws_services``), IAM-checked."""

    def __init__(
        self, aws: Any, iam: Any, *, region: str = "us-east-1", account: str = "000000000000"
    ) -> None:
        self.aws = aws
        self.iam = iam
        self.region = region
        self.account = account

    @staticmethod
    def handles(kind: str) -> bool:
        """Whether a resource kind (``resource_kind``'s answer) is one of these integrations."""
        kind = kind.removesuffix(".waitForTaskToken")
        if kind.startswith("aws-sdk:"):
            return kind.split(":")[1] in _SDK
        return kind in _OPTIMIZED

    async def invoke(self, resource: str, payload: Any, *, timeout_s: float | None) -> Any:
        kind = _kind(resource)
        if not isinstance(payload, dict):
            payload = {}
        if kind.startswith("aws-sdk:"):
            _, service, action = kind.split(":", 2)
            return await self._sdk(service, action, payload)
        if kind in _OPTIMIZED:
            return await self._optimized(kind, payload)
        raise StatesError(StatesErrorName.RUNTIME, f"The resource '{resource}' is not supported")

    # -- aws-sdk -----------------------------------------------------------------------------------
    async def _sdk(self, service: str, action: str, params: dict[str, Any]) -> Any:
        from asyncgate.local.aws_services.bridge import ServiceCallError

        boto_name, iam_prefix, client = _SDK[service]
        model = await self.aws.service_model(boto_name)
        operation = action[:1].upper() + action[1:]
        modeled = {shape.name for shape in model.error_shapes}
        if operation not in model.operation_names:
            raise StatesError(StatesErrorName.RUNTIME, f"The action '{action}' is not supported by {service}")
        op = model.operation_model(operation)
        request = _to_sdk(op.input_shape, params)
        self._authorize(iam_prefix, operation, boto_name, request, client, modeled,
                        v1=None, base=f"{client}Exception")
        try:
            result = await self.aws.call(boto_name, operation, request)
        except ServiceCallError as exc:
            raise StatesError(
                error_name(client, exc.code, modeled, base=f"{client}Exception"),
                f"{exc.message} (Service: {client}, Status Code: {exc.status}, Request ID: {exc.request_id})",
            ) from None
        except Exception as exc:  # botocore refused the parameters before sending
            raise StatesError(
                f"{client}.{client}Exception",
                f"{exc} (Service: {client}, Status Code: 400, Request ID: {_request_id()})",
            ) from None
        result.pop("ResponseMetadata", None)
        return _from_sdk(op.output_shape, result)

    # -- optimized ---------------------------------------------------------------------------------
    async def _optimized(self, kind: str, params: dict[str, Any]) -> Any:
        from asyncgate.local.aws_services.bridge import ServiceCallError

        boto_name, prefix, service_id, text_field = _OPTIMIZED[kind]
        model = await self.aws.service_model(boto_name)
        modeled = {shape.name for shape in model.error_shapes}
        action = kind.split(":", 1)[1]
        operation = action[:1].upper() + action[1:]
        request = dict(params)
        if text_field and text_field in request and not isinstance(request[text_field], str):
            request[text_field] = _json_text(request[text_field])
        if kind == "events:putEvents":
            request["Entries"] = [
                {**e, "Detail": _json_text(e["Detail"])}
                if isinstance(e, dict) and "Detail" in e and not isinstance(e["Detail"], str) else e
                for e in request.get("Entries") or []
            ]
        base = f"Amazon{prefix}Exception"
        self._authorize(boto_name, operation, boto_name, request, prefix, modeled, v1=service_id, base=base)
        try:
            result = await self.aws.call(boto_name, operation, request)
        except ServiceCallError as exc:
            raise StatesError(
                error_name(prefix, exc.code, modeled, base=base),
                f"{exc.message} (Service: {service_id}; Status Code: {exc.status}; Error Code: {exc.code}; "
                f"Request ID: {exc.request_id}; Proxy: null)",
            ) from None
        except Exception as exc:
            raise StatesError(
                f"{prefix}.{base}",
                f"{exc} (Service: {service_id}; Status Code: 400; Error Code: ValidationException; "
                f"Request ID: {_request_id()}; Proxy: null)",
            ) from None
        meta = result.pop("ResponseMetadata", {})
        out = _from_sdk(model.operation_model(operation).output_shape, result)
        if boto_name == "events":
            return out
        headers = {str(k): str(v) for k, v in (meta.get("HTTPHeaders") or {}).items()}
        request_id = str(meta.get("RequestId", ""))
        out["SdkHttpMetadata"] = {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": int(meta.get("HTTPStatusCode", 200)),
        }
        out["SdkResponseMetadata"] = {"RequestId": request_id}
        return out

    # -- IAM ---------------------------------------------------------------------------------------
    def _authorize(self, iam_prefix: str, operation: str, boto_name: str, request: dict[str, Any],
                   prefix: str, modeled: set[str], *, v1: str | None, base: str) -> None:
        role = ACTING_ROLE.get()
        if not role:
            return
        action = f"{iam_prefix}:{operation}"
        resource = resource_arn(boto_name, request, self.region, self.account)
        if self.iam.is_allowed(role, action, resource):
            return
        message = self.iam.denial_message(role, action, resource, session=_session_name())
        json_service = boto_name in ("dynamodb", "kinesis", "events")
        code = "AccessDeniedException" if json_service else "AccessDenied"
        status = 400 if json_service else 403
        if v1 is None:
            cause = f"{message} (Service: {prefix}, Status Code: {status}, Request ID: {_request_id()})"
        else:
            cause = (f"{message} (Service: {v1}; Status Code: {status}; Error Code: {code}; "
                     f"Request ID: {_request_id()}; Proxy: null)")
        raise StatesError(error_name(prefix, code, modeled, base=base), cause)


def _json_text(value: Any) -> str:
    return compact(value)


def _to_sdk(shape: Any, value: Any) -> Any:
    """Step Functions' JSON -> botocore's parameter types (blobs become bytes)."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _to_sdk(shape.members.get(k), v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_to_sdk(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _to_sdk(shape.value, v) for k, v in value.items()}
    if kind == "blob":
        return value.encode() if isinstance(value, str) else _json_text(value).encode()
    return value


def _from_sdk(shape: Any, value: Any) -> Any:
    """botocore's result types -> JSON (bytes base64, timestamps ISO-8601, streams read as text)."""
    if isinstance(value, dict):
        members = getattr(shape, "members", None) or {}
        if shape is not None and shape.type_name == "map":
            return {k: _from_sdk(shape.value, v) for k, v in value.items()}
        return {k: _from_sdk(members.get(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_sdk(getattr(shape, "member", None), v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if hasattr(value, "read"):  # S3 GetObject's Body
        data = value.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(data).decode()
    return value
