"""Integration response selection by ``selectionPattern``.

From the IntegrationResponse API reference: the pattern is a regular expression matched against the
Lambda error message for Lambda back ends and against the HTTP status code for all other HTTP and AWS
back ends. Java's ``String.matches`` is used, so the whole value must match. A response with no (or an
empty) pattern is the default, used when no pattern matches. With no match and no default, API Gateway
answers 500 and logs "No match for output mapping and no default output mapping configured"
(aws/serverless-application-model#2459).

Example:
    >>> from .model import build_integration
    >>> integ = build_integration({"Type": "AWS", "IntegrationResponses": [
    ...     {"StatusCode": "200"}, {"StatusCode": "500", "SelectionPattern": "4\\\\d{2}"}]})
    >>> select_response(integ, "400").status_code, select_response(integ, "200").status_code
    ('500', '200')
"""

from __future__ import annotations

from .model import Integration, IntegrationResponse

__all__ = ["NO_MATCH_MESSAGE", "select_response"]

NO_MATCH_MESSAGE = "No match for output mapping and no default output mapping configured"


def select_response(integration: Integration, value: str) -> IntegrationResponse | None:
    """The integration response for ``value`` (a status code, or a Lambda error message)."""
    for response in integration.responses:
        assert response.pattern is not None
        if response.pattern.fullmatch(value):
            return response
    return integration.default_response
