"""MOCK integrations: the rendered request template names the status code; the body is empty.

API Gateway reads ``statusCode`` from the request template's output, which need not be valid JSON
(recorded: ``{statusCode: 200}`` selects the 200 response). No template, or no ``statusCode``, is 200.

Example:
    >>> mock_status(b'{"statusCode": 500}'), mock_status(b"{statusCode: 404}"), mock_status(b"")
    (500, 404, 200)
"""

from __future__ import annotations

import json
import re

from .aws import IntegrationResult

__all__ = ["call_mock", "mock_status"]

_STATUS = re.compile(rb"""["']?statusCode["']?\s*:\s*["']?(\d{3})""")


def mock_status(rendered: bytes) -> int:
    """The status code a MOCK request template asks for."""
    try:
        doc = json.loads(rendered)
        if isinstance(doc, dict) and isinstance(doc.get("statusCode"), int | str):
            return int(doc["statusCode"])
    except ValueError:
        pass
    match = _STATUS.search(rendered)
    return int(match.group(1)) if match else 200


def call_mock(rendered: bytes) -> IntegrationResult:
    """The MOCK back end's answer."""
    return IntegrationResult(mock_status(rendered), {}, b"")
