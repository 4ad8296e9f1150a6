"""API Gateway mapping templates against outputs recorded on AWS (shared/conformance/vtl/cases.jsonl).

Each case goes through ``Gateway.handle`` the way its README says: a REST API is built with a resource
at ``request.resource_path``, the case's integration and template (and companion template), deployed
to ``request.stage`` with its stage variables; the request is sent; for ``request`` cases the body and
headers the integration received are compared, for ``response`` cases the stub back end returns
``integration_response`` and the client's body, status and headers are compared.

Cases that cannot pass yet are in KNOWN_GAPS with the reason; the test checks them both ways (still
failing, or passing -> remove them from the list). Nothing is skipped.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.assembly import Resource, Stack
from asyncgate.local.gateway import (
    Gateway,
    GatewayRequest,
    GatewayResponse,
    IntegrationResult,
    build_rest_apis,
)

CASES_FILE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "vtl" / "cases.jsonl"
CASES: dict[str, dict[str, Any]] = {
    case["id"]: case for case in map(json.loads, CASES_FILE.read_text().splitlines()) if case
}

#: id -> why it cannot pass yet. The test fails if a listed case starts passing.
KNOWN_GAPS: dict[str, str] = {}

API_ID = "vtlconf001"
HTTP_URI = "http://integration.invalid/capture"


@dataclass
class Capture:
    """The stub back end (HTTP endpoint or AWS service): records what it got, answers as told."""

    answer: IntegrationResult | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def _answer(self, body: bytes) -> IntegrationResult:
        return self.answer or IntegrationResult(200, {"Content-Type": "application/json"}, body)

    async def call(
        self, *, service: str, action: str, body: bytes, credentials: str | None, headers: Mapping[str, str]
    ) -> IntegrationResult:
        self.calls.append({"body": body, "headers": dict(headers), "service": service, "action": action})
        return self._answer(body)

    async def request(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> IntegrationResult:
        self.calls.append({"body": body, "headers": dict(headers), "url": url, "method": method})
        return self._answer(body)


def _integration(case: dict[str, Any]) -> dict[str, Any]:
    spec = case.get("integration") or {}
    kind = spec.get("type") or ("AWS" if spec.get("service") else "HTTP")
    integration: dict[str, Any] = {"Type": kind, "IntegrationHttpMethod": spec.get("http_method", "POST")}
    if kind == "AWS":
        integration["Uri"] = f"arn:aws:apigateway:us-east-1:{spec.get('service', 'sqs')}:action/Capture"
    elif kind == "HTTP":
        integration["Uri"] = HTTP_URI
    if spec.get("passthrough_behavior"):
        integration["PassthroughBehavior"] = spec["passthrough_behavior"]
    if spec.get("request_parameters"):
        integration["RequestParameters"] = spec["request_parameters"]
    template = case["template"]
    if case["kind"] == "request":
        request_template, response_templates = template, spec.get("response_template")
    else:
        request_template, response_templates = spec.get("request_template"), template
    if request_template is not None:
        integration["RequestTemplates"] = {"application/json": request_template}
    if spec.get("responses"):
        integration["IntegrationResponses"] = [
            {
                "StatusCode": r["status"],
                **({"SelectionPattern": r["selection_pattern"]} if r.get("selection_pattern") else {}),
                **({"ResponseTemplates": {"application/json": r["template"]}} if r.get("template") else {}),
            }
            for r in spec["responses"]
        ]
    else:
        response: dict[str, Any] = {"StatusCode": "200"}
        if response_templates is not None:
            response["ResponseTemplates"] = {"application/json": response_templates}
        integration["IntegrationResponses"] = [response]
    return integration


def _stack(case: dict[str, Any]) -> Stack:
    req = case["request"]
    stage: dict[str, Any] = {
        "RestApiId": API_ID,
        "StageName": req["stage"],
        "DeploymentId": "dep1",
        "Variables": req.get("stage_variables") or {},
    }
    if req.get("canary"):  # served by the canary: give it all the traffic, with the effective variables
        stage["CanarySetting"] = {
            "DeploymentId": "dep2",
            "PercentTraffic": 100,
            "StageVariableOverrides": req.get("stage_variables") or {},
        }
    resources = {
        "Api": Resource(
            "Api", "AWS::ApiGateway::RestApi", {"Name": case["id"]}, API_ID, {"RootResourceId": "root"}
        ),
        "Stage": Resource("Stage", "AWS::ApiGateway::Stage", stage, req["stage"]),
    }
    parent = "root"
    for n, part in enumerate(p for p in req["resource_path"].split("/") if p):
        rid = f"res{n}"
        resources[rid] = Resource(
            rid, "AWS::ApiGateway::Resource", {"RestApiId": API_ID, "ParentId": parent, "PathPart": part}, rid
        )
        parent = rid
    resources["Method"] = Resource(
        "Method",
        "AWS::ApiGateway::Method",
        {
            "RestApiId": API_ID,
            "ResourceId": parent,
            "HttpMethod": req["method"],
            "AuthorizationType": "NONE",
            "Integration": _integration(case),
        },
        "m1",
    )
    return Stack("Conformance", resources, {})


@dataclass(frozen=True)
class Outcome:
    passed: bool
    detail: str


def _pointer_get(doc: Any, pointer: str) -> tuple[Any, str | int]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    for part in parts[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    last: str | int = int(parts[-1]) if isinstance(doc, list) else parts[-1]
    return doc, last


def _compare_body(text: str, expected: dict[str, Any]) -> str | None:
    if "output" in expected:
        return None if text == expected["output"] else f"body {text!r} != {expected['output']!r}"
    if "output_json" not in expected:
        return None
    try:
        actual = json.loads(text)
        for pointer in expected.get("json_string_pointers", []):
            parent, key = _pointer_get(actual, pointer)
            parent[key] = json.loads(parent[key])  # type: ignore[index]
        want = json.loads(json.dumps(expected["output_json"]))
        for pointer in expected.get("volatile_pointers", []):
            parent, key = _pointer_get(actual, pointer)
            value = parent[key]  # type: ignore[index]
            if not isinstance(value, str) or not value:
                return f"volatile {pointer} is {value!r}, wanted a non-empty string"
            parent[key] = None  # type: ignore[index]
            wparent, wkey = _pointer_get(want, pointer)
            wparent[wkey] = None  # type: ignore[index]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return f"body {text!r} is not the expected JSON ({type(exc).__name__}: {exc})"
    return None if actual == want else f"body {actual!r} != {want!r}"


def _compare_headers(got: Mapping[str, str] | list[tuple[str, str]], expected: dict[str, Any]) -> str | None:
    items = got.items() if isinstance(got, Mapping) else got
    lowered = {k.lower(): v for k, v in items}
    for name, value in (expected.get("headers") or {}).items():
        if lowered.get(name.lower()) != value:
            return f"header {name}: {lowered.get(name.lower())!r} != {value!r}"
    return None


def case_request(case: dict[str, Any], api_id: str) -> GatewayRequest:
    """The recorded case's request as the gateway takes it (from a fixed documentation address)."""
    req = case["request"]
    path, _, query = req["path"].partition("?")
    return GatewayRequest(
        req["method"],
        api_id,
        req["stage"],
        path,
        query,
        list((req.get("headers") or {}).items()),
        req["body"].encode(),
        "198.51.100.7",
    )


@functools.cache
def outcome(case_id: str) -> Outcome:
    case = CASES[case_id]
    stub = Capture()
    if case["kind"] == "response" and "integration_response" in case:
        ir = case["integration_response"]
        stub.answer = IntegrationResult(int(ir["status"]), ir.get("headers") or {}, ir["body"].encode())
    gateway = Gateway(build_rest_apis(_stack(case)), aws=stub, http=stub)
    request = case_request(case, API_ID)
    response: GatewayResponse = asyncio.run(gateway.handle(request))
    expected = case["expected"]
    problems: list[str] = []
    if case["kind"] == "request":
        if len(stub.calls) != 1:
            return Outcome(False, f"integration called {len(stub.calls)} times; client got {response}")
        call = stub.calls[0]
        problems += filter(
            None,
            [_compare_body(call["body"].decode(), expected), _compare_headers(call["headers"], expected)],
        )
    else:
        problems += filter(
            None,
            [_compare_body(response.body.decode(), expected), _compare_headers(response.headers, expected)],
        )
    if "status" in expected and response.status != int(expected["status"]):
        problems.append(f"status {response.status} != {expected['status']} ({response.body!r})")
    return Outcome(not problems, "; ".join(problems))


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_vtl_case(case_id: str) -> None:
    result = outcome(case_id)
    if case_id in KNOWN_GAPS:
        assert not result.passed, f"{case_id} passes now: remove it from KNOWN_GAPS"
    else:
        assert result.passed, result.detail


def test_known_gaps_name_real_cases() -> None:
    assert set(KNOWN_GAPS) <= set(CASES)


def test_pass_count(capsys: pytest.CaptureFixture[str]) -> None:
    passed = sum(outcome(case_id).passed for case_id in CASES)
    with capsys.disabled():
        print(f"\nVTL conformance: {passed}/{len(CASES)} cases pass ({len(KNOWN_GAPS)} known gaps)")
    assert passed + len(KNOWN_GAPS) == len(CASES)
