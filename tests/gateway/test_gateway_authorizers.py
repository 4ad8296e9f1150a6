"""Lambda authorizers from a real CDK synth (``TokenAuthorizer``, ``RequestAuthorizer``), run on the
real Lambda runtime through ``Gateway.handle``; the answers are API Gateway's (developer guide, "Use
API Gateway Lambda authorizers"; gateway response types UNAUTHORIZED, ACCESS_DENIED,
AUTHORIZER_CONFIGURATION_ERROR)."""

from __future__ import annotations

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from asyncgate.local.assembly import Stack
from asyncgate.local.gateway import Gateway, GatewayRequest, build_rest_apis
from asyncgate.local.gateway.auth import Policy, method_arn

from .harness import Secured, body, header


def auth(token: str) -> dict[str, str]:
    return {"Authorization": token}


def test_an_allowed_token_reaches_the_proxy_with_the_authorizer_context_as_strings(secured: Secured) -> None:
    response = secured.call("GET", "/token", headers=auth("allow-proxy"))
    assert response.status == 200, response.body
    authorizer = body(response)["authorizer"]
    # REST proxy events carry the context values as strings, plus principalId and integrationLatency
    assert {k: authorizer[k] for k in ("principalId", "user", "n", "ok")} == {
        "principalId": "user-allow-proxy",
        "user": "alice",
        "n": "7",
        "ok": "true",
    }
    assert "integrationLatency" in authorizer


def test_the_context_reaches_mapping_templates(secured: Secured) -> None:
    response = secured.call("GET", "/token-mock", headers=auth("allow-template"))
    assert response.status == 200, response.body
    got = body(response)
    assert (got["principal"], got["user"], got["n"]) == ("user-allow-template", "alice", 7)


def test_a_missing_token_is_401_without_calling_the_function(secured: Secured) -> None:
    response = secured.call("GET", "/token")
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')
    assert header(response, "x-amzn-ErrorType") == "UnauthorizedException"


def test_a_token_failing_the_validation_expression_is_401(secured: Secured) -> None:
    response = secured.call("GET", "/token", headers=auth("mallory"))
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')


def test_the_function_saying_unauthorized_is_401(secured: Secured) -> None:
    response = secured.call("GET", "/token", headers=auth("unauthorized-1"))
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')


def test_an_explicit_deny_is_403_with_a_capital_m_message(secured: Secured) -> None:
    response = secured.call("GET", "/token", headers=auth("deny-1"))
    assert response.status == 403
    message = b"User is not authorized to access this resource with an explicit deny"
    assert response.body == b'{"Message":"' + message + b'"}'
    assert header(response, "x-amzn-ErrorType") == "AccessDeniedException"


def test_a_failing_or_malformed_authorizer_is_500_with_a_null_message(secured: Secured) -> None:
    for token in ("boom-1", "bad-1"):
        response = secured.call("GET", "/token", headers=auth(token))
        assert (response.status, response.body) == (500, b'{"message":null}'), token
        assert header(response, "x-amzn-ErrorType") == "AuthorizerConfigurationException"


def test_results_are_cached_by_token_and_the_cached_policy_is_applied_to_the_next_method(
    secured: Secured,
) -> None:
    first = body(secured.call("GET", "/token-mock", headers=auth("allow-cache")))
    again = body(secured.call("GET", "/token-mock", headers=auth("allow-cache")))
    assert again["calls"] == first["calls"]  # the function ran once for this token
    secured.now += 301  # past AuthorizerResultTtlInSeconds (300, CDK's default)
    later = body(secured.call("GET", "/token-mock", headers=auth("allow-cache")))
    assert later["calls"] > first["calls"]
    # a policy for one method ARN, cached, denies the next method (the documented caching pitfall)
    assert secured.call("GET", "/token-mock", headers=auth("narrow-1")).status == 200
    denied = secured.call("GET", "/token", headers=auth("narrow-1"))
    assert denied.status == 403
    assert denied.body == b'{"Message":"User is not authorized to access this resource"}'


def test_a_request_authorizer_gets_the_request_and_needs_every_identity_source(secured: Secured) -> None:
    ok = secured.call("GET", "/request", headers={"X-User": "bob"}, query="team=red")
    assert ok.status == 200, ok.body
    authorizer = body(ok)["authorizer"]
    assert (authorizer["principalId"], authorizer["team"], authorizer["type"], authorizer["path"]) == (
        "bob",
        "red",
        "REQUEST",
        "/request",
    )
    missing = secured.call("GET", "/request", headers={"X-User": "bob"})
    assert (missing.status, missing.body) == (401, b'{"message":"Unauthorized"}')
    refused = secured.call("GET", "/request", headers={"X-User": "nobody"}, query="team=red")
    assert refused.status == 401


def test_policy_wildcards_and_deny_precedence() -> None:
    arn = method_arn("abc123", "main", "get", "/pets/7")
    assert arn == "arn:aws:execute-api:us-east-1:000000000000:abc123/main/GET/pets/7"
    policy = Policy.parse(
        {
            "Statement": [
                {
                    "Action": "execute-api:*",
                    "Effect": "Allow",
                    "Resource": "arn:aws:execute-api:*:*:abc123/*/GET/*",
                },
                {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": ["*/main/GET/pets/?"]},
            ]
        }
    )
    assert policy.decide(arn).name == "EXPLICIT_DENY"
    assert policy.decide(method_arn("abc123", "main", "GET", "/pets/17")).name == "ALLOW"
    assert policy.decide(method_arn("abc123", "main", "POST", "/pets")).name == "IMPLICIT_DENY"


def test_an_authorizer_function_without_permission_for_api_gateway_is_500(secured: Secured) -> None:
    # the same template without the AWS::Lambda::Permission CDK writes for the authorizers
    kept = {
        k: r
        for k, r in secured.stack.resources.items()
        if not (r.type == "AWS::Lambda::Permission" and "/authorizers/" in str(r.properties["SourceArn"]))
    }
    (api,) = build_rest_apis(Stack(secured.stack.name, kept, secured.stack.assets))
    gateway = Gateway([api], aws=None, lambdas=secured.lambdas)
    request = GatewayRequest("GET", api.api_id, "main", "/token-mock", headers=[("Authorization", "allow-x")])
    response = secured.loop.run_until_complete(gateway.handle(request))
    assert (response.status, response.body) == (500, b'{"message":null}')
    assert header(response, "x-amzn-ErrorType") == "AuthorizerConfigurationException"


def test_an_aws_iam_method_needs_a_sigv4_signed_request(secured: Secured) -> None:
    unsigned = secured.call("GET", "/iam")
    assert (unsigned.status, unsigned.body) == (403, b'{"message":"Missing Authentication Token"}')
    request = AWSRequest("GET", f"https://{secured.api.api_id}.execute-api.us-east-1.amazonaws.com/main/iam")
    SigV4Auth(Credentials("AKIDLOCAL", "secret"), "execute-api", "us-east-1").add_auth(request)
    signed = secured.call("GET", "/iam", headers=dict(request.headers.items()))
    assert (signed.status, body(signed)) == (200, {"accessKey": "AKIDLOCAL"})
