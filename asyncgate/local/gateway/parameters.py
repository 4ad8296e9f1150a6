"""Parameter mappings: what an integration request gets besides its body, and the method's headers.

``RequestParameters`` map ``integration.request.{header,querystring,path}.X`` from a source:
``'literal'``, ``method.request.{header,querystring,path}.Y``, ``stageVariables.Y`` or ``context.Y``;
the request template's ``$context.requestOverride`` then wins. ``ResponseParameters`` map
``method.response.header.X`` from ``'literal'``, ``integration.response.header.Y`` or
``integration.response.body``.

Example:
    >>> from .integrations.aws import IntegrationResult
    >>> response_headers({"method.response.header.X-A": "'1'",
    ...     "method.response.header.X-B": "integration.response.header.etag"},
    ...     IntegrationResult(200, {"ETag": "v1"}))
    {'X-A': '1', 'X-B': 'v1'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .integrations.aws import IntegrationRequest, IntegrationResult
from .invocation import Invocation

__all__ = ["integration_request", "response_headers"]


def integration_request(inv: Invocation, mappings: Mapping[str, str]) -> IntegrationRequest:
    """The integration request: rendered body, mapped headers/query/path, then the overrides."""
    assert inv.context is not None
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    path: dict[str, str] = {}
    targets = {"header": headers, "querystring": query, "path": path}
    for dest, source in mappings.items():
        kind, _, name = dest.removeprefix("integration.request.").partition(".")
        value = _source_value(inv, source)
        if kind in targets and value is not None:
            targets[kind][name] = value
    override = inv.context["requestOverride"]
    for kind, target in targets.items():
        for name, value in override[kind].items():
            target[str(name)] = "" if value is None else str(value)
    return IntegrationRequest(inv.integration_body, headers, query, path)


def response_headers(mappings: Mapping[str, str], result: IntegrationResult) -> dict[str, str]:
    """Method response headers mapped by an integration response's ``ResponseParameters``."""
    out: dict[str, str] = {}
    for dest, source in mappings.items():
        if not dest.startswith("method.response.header."):
            continue
        name = dest.removeprefix("method.response.header.")
        if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
            out[name] = source[1:-1]
        elif source.startswith("integration.response.header."):
            wanted = source.removeprefix("integration.response.header.").lower()
            value = next((v for k, v in result.headers.items() if k.lower() == wanted), None)
            if value is not None:
                out[name] = value
        elif source == "integration.response.body":
            out[name] = result.body.decode("utf-8", errors="replace")
    return out


def _source_value(inv: Invocation, source: str) -> str | None:
    assert inv.params is not None and inv.stage_variables is not None and inv.context is not None
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source.startswith("method.request."):
        kind, _, name = source.removeprefix("method.request.").partition(".")
        if kind == "header":
            return inv.request.header(name)
        table = {"querystring": inv.params.querystring, "path": inv.params.path}.get(kind, {})
        return table.get(name)
    if source.startswith("stageVariables."):
        return inv.stage_variables.get(source.removeprefix("stageVariables."))
    if source.startswith("context."):
        value: Any = inv.context
        for part in source.removeprefix("context.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    return None
