"""Request validation: ``AWS::ApiGateway::RequestValidator`` on a method, checked before integration.

A method names a validator (``RequestValidatorId``) that turns on parameter checks
(``ValidateRequestParameters``), body checks (``ValidateRequestBody``) or both:

- Parameters: every ``RequestParameters`` entry ``method.request.{header,querystring,path}.name``
  set to ``true`` must be present and not blank; else 400 ``{"message": "Missing required request
  parameters: [a, b]"}`` (``BAD_REQUEST_PARAMETERS``), names sorted by their ``method.request.*`` key.
- Body: the ``RequestModels`` entry for the request's content type (else ``$default``) names an
  ``AWS::ApiGateway::Model`` whose ``Schema`` is JSON Schema draft 4; a body that does not parse or
  does not conform is 400 ``{"message": "Invalid request body"}`` (``BAD_REQUEST_BODY``); an empty
  body reads as ``{}``. Models may
  ``$ref`` each other by ``https://apigateway.amazonaws.com/restapis/{api}/models/{name}``.

Schemas are compiled once at load (``jsonschema``'s Draft4Validator, the draft API Gateway uses).

Example:
    >>> check = MethodValidation(required=(("querystring", "name"),), body_schemas={},
    ...                          validate_parameters=True, validate_body=False)
    >>> check.missing_parameters({}, {"name": " "}, {})
    ['name']
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from ..assembly import Stack
from .errors import GatewayError, GatewayResponseType
from .jsonbody import JsonBodyError, read_json

__all__ = ["MethodValidation", "Models", "build_models", "build_validators", "method_validation"]

LOG = logging.getLogger(__name__)

INVALID_BODY = "Invalid request body"


@dataclass(frozen=True, slots=True)
class Models:
    """The API's models (name -> schema) and the registry their ``$ref`` links resolve in."""

    schemas: dict[str, dict[str, Any]]
    registry: referencing.Registry[Any]


def build_models(stack: Stack, api_id: str) -> Models:
    """``AWS::ApiGateway::Model`` resources of the API (``Schema`` as an object or a JSON string)."""
    schemas: dict[str, dict[str, Any]] = {}
    for res in stack.of_type("AWS::ApiGateway::Model"):
        props = res.properties
        if props.get("RestApiId") != api_id:
            continue
        schema = props.get("Schema") or {}
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError:
                LOG.warning("model %s: Schema is not JSON; not used", res.logical_id)
                continue
        if isinstance(schema, dict):
            schemas[str(props.get("Name") or res.physical_id)] = schema
    draft4 = referencing.jsonschema.DRAFT4
    resources = [
        (f"https://apigateway.amazonaws.com/restapis/{api_id}/models/{name}", draft4.create_resource(s))
        for name, s in schemas.items()
    ]
    return Models(schemas, referencing.Registry().with_resources(resources))


@dataclass(frozen=True, slots=True)
class MethodValidation:
    """One method's checks, compiled."""

    #: ``(location, name)`` of each required request parameter, sorted as AWS lists them
    required: tuple[tuple[str, str], ...]
    #: media type (or ``$default``) -> compiled validator
    body_schemas: dict[str, jsonschema.protocols.Validator]
    validate_parameters: bool
    validate_body: bool

    def missing_parameters(
        self, path: Mapping[str, str], query: Mapping[str, str], headers: Mapping[str, str]
    ) -> list[str]:
        """Names of the required parameters that are absent or blank."""
        lowered = {k.lower(): v for k, v in headers.items()}
        tables = {"path": path, "querystring": query}
        missing = []
        for location, name in self.required:
            value = lowered.get(name.lower()) if location == "header" else tables.get(location, {}).get(name)
            if value is None or not value.strip():
                missing.append(name)
        return missing

    def check(
        self,
        *,
        path: Mapping[str, str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
        media_type: str,
        body: bytes,
    ) -> None:
        """Raise GatewayError (400) as API Gateway's validator would; parameters are checked first."""
        if self.validate_parameters:
            missing = self.missing_parameters(path, query, headers)
            if missing:
                raise GatewayError(
                    GatewayResponseType.BAD_REQUEST_PARAMETERS,
                    f"Missing required request parameters: [{', '.join(missing)}]",
                    log="required request parameters missing",
                )
        if not self.validate_body:
            return
        validator = self.body_schemas.get(media_type) or self.body_schemas.get("$default")
        if validator is None:
            return
        try:
            document = read_json(body) if body.strip() else {}  # no body reads as `{}`
        except JsonBodyError as exc:
            raise GatewayError(
                GatewayResponseType.BAD_REQUEST_BODY, INVALID_BODY, log=f"body is not JSON: {exc}"
            ) from exc
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        if errors:
            details = "; ".join(e.message for e in errors[:5])
            raise GatewayError(
                GatewayResponseType.BAD_REQUEST_BODY,
                INVALID_BODY,
                log=f"Request body does not match model schema for content type {media_type}: [{details}]",
            )


def method_validation(
    props: Mapping[str, Any], validators: Mapping[str, tuple[bool, bool]], models: Models
) -> MethodValidation | None:
    """The checks of one ``AWS::ApiGateway::Method`` (None when it has no validator or nothing on)."""
    validator = validators.get(str(props.get("RequestValidatorId") or ""))
    if validator is None or not any(validator):
        return None
    required = []
    for key, flag in sorted((props.get("RequestParameters") or {}).items()):
        if flag is True or str(flag).lower() == "true":
            location, _, name = str(key).removeprefix("method.request.").partition(".")
            required.append((location, name))
    schemas: dict[str, jsonschema.protocols.Validator] = {}
    for media, name in (props.get("RequestModels") or {}).items():
        schema = models.schemas.get(str(name))
        if schema is None:  # `Empty` and `Error` are AWS's built-ins: anything goes
            continue
        schemas[str(media).lower()] = jsonschema.Draft4Validator(schema, registry=models.registry)
    return MethodValidation(tuple(required), schemas, validator[1], validator[0])


def build_validators(stack: Stack, api_id: str) -> dict[str, tuple[bool, bool]]:
    """Request validators of the API: id -> (ValidateRequestBody, ValidateRequestParameters)."""
    return {
        res.physical_id: (
            bool(res.properties.get("ValidateRequestBody", False)),
            bool(res.properties.get("ValidateRequestParameters", False)),
        )
        for res in stack.of_type("AWS::ApiGateway::RequestValidator")
        if res.properties.get("RestApiId") == api_id
    }
