"""Request validation for the Step Functions API, with AWS's error codes and messages.

Why a module of its own: every API method checks the same few things (ARNs, names, input size,
paging parameters) and AWS words each failure exactly one way. Keeping the wording here, once, keeps
the service methods short and lets the tests pin each message in one place.

The wording follows AWS's answers where they are known (``StateMachineDoesNotExist``
"State Machine Does Not Exist: '<arn>'", ``InvalidArn`` "Invalid Arn: 'Resource type not valid in
this context: execution'", the Coral ``ValidationException`` "1 validation error detected: ...").
Constraint violations of the API model (lengths, enums, required members) are
``ValidationException``; semantic ones (bad characters in a name, input that is not JSON) are the
service's own codes.

Example:
    >>> validate_name("my-execution", field="name")
    'my-execution'
    >>> parse_states_arn("arn:aws:states:us-east-1:000000000000:stateMachine:m", "stateMachine").name
    'm'
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArn, InvalidExecutionInput, InvalidName, InvalidToken, ValidationException
from ..ids import random_uuid

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "StatesArn",
    "decode_token",
    "definition_diagnostics",
    "encode_token",
    "page_size",
    "parse_states_arn",
    "random_uuid",
    "require",
    "validate_input",
    "validate_name",
]

#: Step Functions' limit on an execution's input or output: 256 KiB of UTF-8.
MAX_PAYLOAD_BYTES = 262_144

# AWS: a name must not contain white space, brackets < > { } [ ], wildcards ? *, special characters
# " # % \ ^ | ~ ` $ & , ; : / or control characters (U+0000-001F, U+007F-009F).
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_ARN = re.compile(r"^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):([A-Za-z]+):(.+)$")


def constraint_error(field: str, constraint: str, value: str | None = None) -> ValidationException:
    """AWS's Coral-style constraint failure; sensitive values (input) are left out of the message.

    Example:
        >>> constraint_error("name", "Member must have length less than or equal to 80", "x").message
        "1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"
    """  # noqa: E501
    shown = f"Value '{value}' at" if value is not None else "Value at"
    return ValidationException(
        f"1 validation error detected: {shown} '{field}' failed to satisfy constraint: {constraint}"
    )


def require(request: dict[str, Any], field: str) -> Any:
    """A required member: missing (or null) is a ``ValidationException`` as AWS words it."""
    value = request.get(field)
    if value is None:
        raise _null(field)
    return value


def _null(field: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: "
        "Member must not be null"
    )


def validate_name(name: Any, *, field: str = "name") -> str:
    """A state machine or execution name: 1-80 characters, none of AWS's forbidden characters."""
    if not isinstance(name, str):
        raise ValidationException(f"1 validation error detected: Value at '{field}' must be a string")
    if len(name) < 1:
        raise constraint_error(field, "Member must have length greater than or equal to 1", name)
    if len(name) > 80:
        raise constraint_error(field, "Member must have length less than or equal to 80", name)
    if _BAD_NAME.search(name):
        raise InvalidName(f"Invalid Name: '{name}'")
    return name


def validate_input(text: Any) -> tuple[str, Any]:
    """Execution input: a JSON text of at most 256 KiB of UTF-8 (``"{}"`` when absent).

    Returns the text and its parsed value (parsed once, here, for the engine).

    Too large is the API model's length constraint (``ValidationException``, the value redacted as
    AWS does for sensitive members); not JSON is ``InvalidExecutionInput``.
    """
    if text is None:
        return "{}", {}
    if not isinstance(text, str):
        raise InvalidExecutionInput("Invalid State Machine Execution Input: 'input must be a string'")
    if len(text) * 4 > MAX_PAYLOAD_BYTES and len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise constraint_error(
            "input", f"Member must have length less than or equal to {MAX_PAYLOAD_BYTES}"
        )
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
    return text, value


@dataclass(frozen=True, slots=True)
class StatesArn:
    """A parsed ``arn:aws:states`` ARN: its resource type and the parts after it."""

    text: str
    region: str
    account: str
    resource_type: str
    #: the parts after the resource type (``[machine]``, ``[machine, execution]``, ...)
    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        """The state machine's name (the first part)."""
        return self.parts[0]


def parse_states_arn(arn: Any, *expected: str, field: str = "arn") -> StatesArn:
    """Parse a Step Functions ARN whose resource type must be one of ``expected``.

    Not an ARN: ``InvalidArn "Invalid arn: '<text>'"``. Another resource type:
    ``InvalidArn "Invalid Arn: 'Resource type not valid in this context: <type>'"`` (as
    AWS prints it, e.g. ``stateMachine``).

    Example:
        >>> parse_states_arn("arn:aws:states:us-east-1:000000000000:execution:m:e", "execution").parts
        ('m', 'e')
    """
    if not isinstance(arn, str):
        raise _null(field)
    if len(arn) > 2048:
        raise constraint_error(field, "Member must have length less than or equal to 2048", arn)
    match = _ARN.match(arn)
    if match is None:
        raise InvalidArn(f"Invalid arn: '{arn}'")
    region, account, resource_type, rest = match.groups()
    if resource_type not in expected:
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {resource_type}'")
    parts = tuple(rest.split(":"))
    if any(not p for p in parts):
        raise InvalidArn(f"Invalid arn: '{arn}'")
    return StatesArn(arn, region, account, resource_type, parts)


def page_size(request: dict[str, Any], *, default: int = 100, maximum: int = 1000) -> int:
    """``maxResults``: 0 or absent means the default page; above 1000 is a constraint failure."""
    value = request.get("maxResults")
    if value is None or value == 0:
        return default
    if not isinstance(value, int) or value < 0:
        raise constraint_error("maxResults", "Member must have value greater than or equal to 0", str(value))
    if value > maximum:
        raise constraint_error(
            "maxResults", f"Member must have value less than or equal to {maximum}", str(value)
        )
    return value


def encode_token(offset: int, scope: str) -> str:
    """An opaque page token: the next offset, bound to what is being listed."""
    return base64.urlsafe_b64encode(json.dumps([scope, offset]).encode()).decode()


def decode_token(token: Any, scope: str) -> int:
    """The offset a token from :func:`encode_token` carries; anything else is ``InvalidToken``."""
    if token is None:
        return 0
    try:
        got_scope, offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidToken(f"Invalid Token: '{token}'") from None
    if got_scope != scope or not isinstance(offset, int) or offset < 0:
        raise InvalidToken(f"Invalid Token: '{token}'")
    return offset


def definition_diagnostics(message: str) -> list[dict[str, Any]]:
    """ValidateStateMachineDefinition's diagnostics from an InvalidDefinition message."""
    body = message.split(": '", 1)[1].rstrip("'") if ": '" in message else message
    found = re.findall(r"([A-Z][A-Z_]+): (.*?)(?: at (/[^,]*))?(?:, (?=[A-Z][A-Z_]+: )|$)", body)
    if not found:
        return [{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": body}]
    out = []
    for code, text, location in found:
        item = {"severity": "ERROR", "code": code, "message": text}
        if location:
            item["location"] = location
        out.append(item)
    return out
