"""Gateway errors: the response types API Gateway answers with when a request never reaches a method
response, and the exception the stages raise to end a request with one.

Each type carries AWS's default status, message and ``x-amzn-ErrorType`` (``supported-gateway-
response-types`` in the developer guide). ``responses.py`` renders them, with the API's
``AWS::ApiGateway::GatewayResponse`` customizations.

Example:
    >>> GatewayResponseType.INVALID_API_KEY.body(), GatewayResponseType.THROTTLED.status
    (b'{"message":"Forbidden"}', 429)
    >>> GatewayResponseType.ACCESS_DENIED.body()
    b'{"Message":"User is not authorized to access this resource"}'
    >>> GatewayResponseType.AUTHORIZER_CONFIGURATION_ERROR.body()
    b'{"message":null}'
"""

from __future__ import annotations

import json
from enum import Enum

__all__ = ["GatewayError", "GatewayResponseType"]


class GatewayResponseType(Enum):
    """The gateway response types asyncgate emits: (AWS type, status, default message, error type).

    The message is None where AWS's body is ``{"message": null}`` (authorizer failures).
    ``ACCESS_DENIED`` writes ``Message`` with a capital M, as API Gateway does for policy denials.
    """

    MISSING_AUTHENTICATION_TOKEN = (
        "MISSING_AUTHENTICATION_TOKEN",
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    )
    UNAUTHORIZED = ("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException")
    ACCESS_DENIED = (
        "ACCESS_DENIED",
        403,
        "User is not authorized to access this resource",
        "AccessDeniedException",
    )
    #: the authorizer function failed, answered something that is not a policy, or cannot be reached
    AUTHORIZER_CONFIGURATION_ERROR = (
        "AUTHORIZER_CONFIGURATION_ERROR",
        500,
        None,
        "AuthorizerConfigurationException",
    )
    INVALID_API_KEY = ("INVALID_API_KEY", 403, "Forbidden", "ForbiddenException")
    THROTTLED = ("THROTTLED", 429, "Too Many Requests", "TooManyRequestsException")
    QUOTA_EXCEEDED = ("QUOTA_EXCEEDED", 429, "Limit Exceeded", "LimitExceededException")
    BAD_REQUEST_PARAMETERS = ("BAD_REQUEST_PARAMETERS", 400, "Bad request", "BadRequestException")
    UNSUPPORTED_MEDIA_TYPE = (
        "UNSUPPORTED_MEDIA_TYPE",
        415,
        "Unsupported Media Type",
        "UnsupportedMediaTypeException",
    )
    BAD_REQUEST_BODY = (
        "BAD_REQUEST_BODY",
        400,
        "Could not parse request body into json",
        "BadRequestException",
    )
    INTEGRATION_TIMEOUT = (
        "INTEGRATION_TIMEOUT",
        504,
        "Endpoint request timed out",
        "InternalServerErrorException",
    )
    #: the back end could not be reached (the developer guide gives 504 as this type's default)
    INTEGRATION_FAILURE = (
        "INTEGRATION_FAILURE",
        504,
        "Internal server error",
        "InternalServerErrorException",
    )
    #: no matching integration response and no default, a template that fails, a missing back end,
    #: a Lambda function API Gateway has no permission to invoke
    API_CONFIGURATION_ERROR = (
        "API_CONFIGURATION_ERROR",
        500,
        "Internal server error",
        "InternalServerErrorException",
    )
    #: anything else that went wrong inside the gateway
    DEFAULT_5XX = ("DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException")
    #: a Lambda proxy function failed or answered something that is not a proxy response
    BAD_GATEWAY = ("DEFAULT_5XX", 502, "Internal server error", "InternalServerErrorException")

    @property
    def aws_type(self) -> str:
        """The ``ResponseType`` an ``AWS::ApiGateway::GatewayResponse`` customizes this one by."""
        return str(self.value[0])

    @property
    def status(self) -> int:
        """The default status code."""
        return int(self.value[1])

    @property
    def message(self) -> str | None:
        """The default ``$context.error.message``."""
        message: str | None = self.value[2]
        return message

    @property
    def error_type(self) -> str:
        """The ``x-amzn-ErrorType`` header."""
        return str(self.value[3])

    def body(self, message: str | None = None) -> bytes:
        """The response body; ``message`` replaces the default text."""
        text = message if message is not None else self.message
        if text is None:
            return b'{"message":null}'
        if text == "Internal server error":
            return json.dumps({"message": text}).encode()
        key = b'{"Message":' if self is GatewayResponseType.ACCESS_DENIED else b'{"message":'
        return key + json.dumps(text, ensure_ascii=False).encode() + b"}"


class GatewayError(Exception):
    """End the request with a gateway response of type ``kind`` (raised by any stage's helpers).

    ``message`` replaces the type's default text; ``log`` says why, for the server log.
    """

    def __init__(self, kind: GatewayResponseType, message: str | None = None, log: str = "") -> None:
        super().__init__(log or kind.message or kind.name)
        self.kind = kind
        self.message = message
        self.log = log
