"""Gateway responses: the answers API Gateway itself gives when a request never gets a method response.

Each has AWS's default status, message and ``x-amzn-ErrorType`` (``supported-gateway-response-types``
in the developer guide). API Gateway renders them from the template
``{"message":$context.error.messageString}``, hence the compact body,
except the integration failures' classic ``{"message": "Internal server error"}``.

Example:
    >>> GatewayResponseType.MISSING_AUTHENTICATION_TOKEN.body()
    b'{"message":"Missing Authentication Token"}'
    >>> GatewayResponseType.INTEGRATION_FAILURE.status
    500
"""

from __future__ import annotations

import json
from enum import Enum

__all__ = ["GatewayResponseType"]


class GatewayResponseType(Enum):
    """The gateway response types asyncgate emits, with (status, default message, error type)."""

    MISSING_AUTHENTICATION_TOKEN = (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    )
    UNSUPPORTED_MEDIA_TYPE = (415, "Unsupported Media Type", "UnsupportedMediaTypeException")
    BAD_REQUEST_BODY = (400, "Could not parse request body into json", "BadRequestException")
    INTEGRATION_TIMEOUT = (504, "Endpoint request timed out", "InternalServerErrorException")
    #: integration errors, no matching integration response, template failures
    INTEGRATION_FAILURE = (500, "Internal server error", "InternalServerErrorException")
    API_CONFIGURATION_ERROR = (500, "Internal server error", "InternalServerErrorException")
    #: a Lambda proxy function failed or answered something that is not a proxy response
    BAD_GATEWAY = (502, "Internal server error", "InternalServerErrorException")

    @property
    def status(self) -> int:
        """The default status code."""
        return self.value[0]

    @property
    def message(self) -> str:
        """The default ``$context.error.message``."""
        return self.value[1]

    @property
    def error_type(self) -> str:
        """The ``x-amzn-ErrorType`` header."""
        return self.value[2]

    def body(self, message: str | None = None) -> bytes:
        """The response body; ``message`` replaces the default text."""
        text = message if message is not None else self.message
        if text == "Internal server error":
            return json.dumps({"message": text}).encode()
        return b'{"message":' + json.dumps(text, ensure_ascii=False).encode() + b"}"
