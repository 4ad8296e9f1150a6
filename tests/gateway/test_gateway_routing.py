"""The resource tree: literal > {param} > {proxy+}, exact method > ANY, and the 403 for a miss."""

from __future__ import annotations

import pytest

from asyncgate.local.assembly import Resource, Stack
from asyncgate.local.gateway import build_rest_apis
from asyncgate.local.gateway.model import IntegrationType, PassthroughBehavior, build_integration
from asyncgate.local.gateway.routing import RouteMatch, RouteMiss, Router

ROUTES = [
    ("/", "GET", "root"),
    ("/pets", "GET", "list"),
    ("/pets", "ANY", "pets-any"),
    ("/pets/{id}", "GET", "pet"),
    ("/pets/mine", "GET", "mine"),
    ("/pets/{id}/toys/{toy}", "DELETE", "toy"),
    ("/files/{proxy+}", "ANY", "files"),
    ("/{proxy+}", "GET", "catch-all"),
]


@pytest.fixture(scope="module")
def router() -> Router[str]:
    return Router.build(ROUTES)


@pytest.mark.parametrize(
    ("method", "path", "target", "params"),
    [
        ("GET", "/", "root", {}),
        ("GET", "/pets", "list", {}),
        ("GET", "/pets/", "list", {}),
        ("PATCH", "/pets", "pets-any", {}),
        ("GET", "/pets/mine", "mine", {}),  # a literal part wins over {id}
        ("GET", "/pets/7", "pet", {"id": "7"}),
        ("delete", "/pets/7/toys/ball", "toy", {"id": "7", "toy": "ball"}),
        ("PUT", "/files/a/b/c.txt", "files", {"proxy": "a/b/c.txt"}),
        ("GET", "/pets/7/unknown", "catch-all", {"proxy": "pets/7/unknown"}),  # backtracks to {proxy+}
    ],
)
def test_matches(router: Router[str], method: str, path: str, target: str, params: dict[str, str]) -> None:
    match = router.match(method, path)
    assert isinstance(match, RouteMatch)
    assert (match.target, match.path_params) == (target, params)


@pytest.mark.parametrize(
    ("method", "path", "reason"),
    [
        ("POST", "/", "method POST not defined on /"),
        ("POST", "/pets/7", "method POST not defined on /pets/{id}"),
        ("GET", "/files", "no resource"),  # {proxy+} needs at least one segment
    ],
)
def test_misses_say_why(method: str, path: str, reason: str) -> None:
    router = Router.build([r for r in ROUTES if r[2] != "catch-all"])
    miss = router.match(method, path)
    assert isinstance(miss, RouteMiss)
    assert miss.reason.startswith(reason)


def test_nested_resources_and_the_older_deployment_stage_form() -> None:
    api = Resource("Api", "AWS::ApiGateway::RestApi", {"Name": "n"}, "api1", {"RootResourceId": "root"})
    a = Resource(
        "A", "AWS::ApiGateway::Resource", {"RestApiId": "api1", "ParentId": "root", "PathPart": "a"}, "ra"
    )
    b = Resource(
        "B", "AWS::ApiGateway::Resource", {"RestApiId": "api1", "ParentId": "ra", "PathPart": "{b}"}, "rb"
    )
    method = Resource(
        "M", "AWS::ApiGateway::Method", {"RestApiId": "api1", "ResourceId": "rb", "HttpMethod": "PUT"}, "m"
    )
    dep = Resource("D", "AWS::ApiGateway::Deployment", {"RestApiId": "api1", "StageName": "prod"}, "d1")
    (built,) = build_rest_apis(Stack("s", {r.logical_id: r for r in (api, a, b, method, dep)}, {}))
    assert [s.name for s in built.stages] == ["prod"]
    match = built.router.match("PUT", "/a/x")
    assert isinstance(match, RouteMatch)
    assert (match.resource_path, match.path_params) == ("/a/{b}", {"b": "x"})
    assert match.target.integration.type is IntegrationType.MOCK


def test_integration_uris_and_defaults() -> None:
    integ = build_integration(
        {
            "Type": "AWS",
            "Uri": "arn:aws:apigateway:us-east-1:states:action/StartExecution",
            "IntegrationResponses": [{"StatusCode": "200"}, {"StatusCode": "500", "SelectionPattern": "(("}],
        }
    )
    assert (integ.service, integ.action, integ.passthrough) == (
        "states",
        "StartExecution",
        PassthroughBehavior.WHEN_NO_MATCH,
    )
    assert integ.default_response is not None and integ.default_response.status_code == "200"
    bad = integ.responses[0]
    assert bad.pattern is not None and bad.pattern.fullmatch("((") is None  # an invalid pattern never matches
    sqs = build_integration({"Type": "AWS", "Uri": "arn:aws:apigateway:us-east-1:sqs:path/000000000000/q"})
    assert (sqs.service, sqs.action) == ("sqs", "path/000000000000/q")
    assert (
        build_integration(
            {"Type": "AWS", "Uri": "arn:aws:apigateway:us-east-1:my.sub.dynamodb:action/Query"}
        ).service
        == "dynamodb"
    )


def test_a_method_that_cannot_be_built_is_left_out_not_fatal() -> None:
    api = Resource("Api", "AWS::ApiGateway::RestApi", {"Name": "n"}, "api1", {"RootResourceId": "root"})
    good = Resource(
        "G", "AWS::ApiGateway::Method", {"RestApiId": "api1", "ResourceId": "root", "HttpMethod": "GET"}, "g"
    )
    bad = Resource(
        "B",
        "AWS::ApiGateway::Method",
        {"RestApiId": "api1", "ResourceId": "root", "HttpMethod": "POST", "Integration": {"Type": "WEIRD"}},
        "b",
    )
    (built,) = build_rest_apis(Stack("s", {r.logical_id: r for r in (api, good, bad)}, {}))
    assert isinstance(built.router.match("GET", "/"), RouteMatch)
    assert isinstance(built.router.match("POST", "/"), RouteMiss)
