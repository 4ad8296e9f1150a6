"""Lambda API parameters: function names and ARNs, and the settings CreateFunction and
UpdateFunctionConfiguration accept, checked with Lambda's error codes and messages.
"""

from __future__ import annotations

import re
import time
from typing import Any

from asyncgate.local.arns import arn
from asyncgate.local.errors import InvalidParameterValueException, ValidationException

__all__ = [
    "RESERVED_KEYS",
    "function_arn",
    "last_modified",
    "new_function_name",
    "parse_function_ref",
    "settings",
]

_MANDATORY = "Runtime and Handler are mandatory parameters for functions created with deployment packages."
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_HANDLER = re.compile(r"[^\s]{1,128}")
_REF_PATTERN = (
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
    "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
)
#: Environment keys Lambda sets itself and refuses in a function's Environment.
RESERVED_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


def function_arn(name: str) -> str:
    """The local account's ARN for a function name.

    Example:
        >>> function_arn("f")
        'arn:aws:lambda:us-east-1:000000000000:function:f'
    """
    return arn("lambda", f"function:{name}")


def parse_function_ref(ref: str) -> tuple[str, str | None]:
    """Split a FunctionName parameter into (name, qualifier): a name, ``name:qualifier``, a partial ARN
    (``123456789012:function:name``) or a full ARN of any account and region.

    Example:
        >>> parse_function_ref("arn:aws:lambda:us-east-1:111111111111:function:f:$LATEST")
        ('f', '$LATEST')
        >>> parse_function_ref("111111111111:function:f"), parse_function_ref("f")
        (('f', None), ('f', None))
    """
    parts = ref.split(":")
    if parts[0] == "arn":
        if len(parts) in (7, 8) and parts[2] == "lambda" and parts[5] == "function":
            return parts[6], parts[7] if len(parts) == 8 else None
    elif len(parts) in (3, 4) and parts[1] == "function":
        return parts[2], parts[3] if len(parts) == 4 else None
    elif len(parts) in (1, 2) and parts[0]:
        return parts[0], parts[1] if len(parts) == 2 else None
    raise ValidationException(
        f"1 validation error detected: Value '{ref}' at 'functionName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {_REF_PATTERN}"
    )


def new_function_name(request: dict[str, Any]) -> str:
    """CreateFunction's FunctionName (a name or an ARN naming one), checked.

    Example:
        >>> new_function_name({"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:f"})
        'f'
    """
    name = request.get("FunctionName")
    if not isinstance(name, str) or not name:
        raise ValidationException(
            "1 validation error detected: Value null at 'functionName' failed to satisfy constraint: "
            "Member must not be null"
        )
    if ":" in name:
        name, _ = parse_function_ref(name)
    if not _NAME.fullmatch(name):
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {_REF_PATTERN}"
        )
    return name


def _bounded(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    bound = (
        f"greater than or equal to {low}"
        if isinstance(value, int) and value < low
        else f"less than or equal to {high}"
    )
    raise ValidationException(
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
        f"Member must have value {bound}"
    )


def settings(request: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """The ``FunctionConfig`` fields a CreateFunction (``create=True``: Runtime and Handler required,
    defaults applied) or an UpdateFunctionConfiguration request sets.

    Example:
        >>> settings({"Timeout": 10, "Environment": {"Variables": {"A": "1"}}}, create=False)
        {'timeout_s': 10.0, 'environment': {'A': '1'}}
    """
    fields: dict[str, Any] = {}
    if request.get("PackageType", "Zip") != "Zip":
        raise InvalidParameterValueException("The local runtime runs Zip packages only, not images.")
    if "Runtime" in request or create:
        runtime = request.get("Runtime")
        if not isinstance(runtime, str) or not runtime:
            raise InvalidParameterValueException(_MANDATORY)
        if not runtime.startswith("python3."):
            raise InvalidParameterValueException(
                f"The runtime parameter of {runtime} is not supported by the local runtime: "
                "it runs python3.x only."
            )
        fields["runtime"] = runtime
    if "Handler" in request or create:
        handler = request.get("Handler")
        if not isinstance(handler, str) or not _HANDLER.fullmatch(handler):
            raise InvalidParameterValueException(_MANDATORY)
        fields["handler"] = handler
    if "Timeout" in request or create:
        fields["timeout_s"] = float(_bounded(request.get("Timeout", 3), "timeout", 1, 900))
    if "MemorySize" in request or create:
        fields["memory_mb"] = _bounded(request.get("MemorySize", 128), "memorySize", 128, 10240)
    if "Environment" in request or create:
        variables = (request.get("Environment") or {}).get("Variables") or {}
        if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
            raise InvalidParameterValueException("Environment variables must be strings.")
        reserved = sorted(k for k in variables if k in RESERVED_KEYS)
        if reserved:
            raise InvalidParameterValueException(
                "Lambda was unable to configure your environment variables because the environment "
                "variables you have provided contains reserved keys that are currently not supported "
                f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
            )
        fields["environment"] = {str(k): v for k, v in variables.items()}
    if "Role" in request or create:
        fields["role"] = str(request.get("Role") or "")
    if "Description" in request or create:
        fields["description"] = str(request.get("Description") or "")
    if "LoggingConfig" in request or create:
        fields["log_group"] = str((request.get("LoggingConfig") or {}).get("LogGroup") or "")
    return fields


def last_modified(now: float | None = None) -> str:
    """LastModified as Lambda writes it.

    Example:
        >>> last_modified(0)
        '1970-01-01T00:00:00.000+0000'
    """
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}+0000"
