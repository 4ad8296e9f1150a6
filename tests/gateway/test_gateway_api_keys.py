"""API keys, usage plans and throttling from a real CDK synth, through ``Gateway.handle``.

AWS's answers (gateway response types INVALID_API_KEY, THROTTLED, QUOTA_EXCEEDED): a method with
``ApiKeyRequired`` and no valid key is 403 ``{"message":"Forbidden"}``; past a usage plan's token
bucket 429 ``{"message":"Too Many Requests"}``; past its quota 429 ``{"message":"Limit Exceeded"}``.
The clock is the harness's, so the bucket refills only when a test moves it.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from asyncgate.local.gateway.throttling import Quota, QuotaCounter, Throttle, TokenBucket

from .harness import Secured, body, header
from .secured_app import DISABLED_KEY, KEY, LOOSE_KEY

FORBIDDEN = b'{"message":"Forbidden"}'


def test_a_method_requiring_a_key_refuses_a_missing_unknown_disabled_or_unplanned_key(
    secured: Secured,
) -> None:
    for headers in ({}, {"x-api-key": "nope"}, {"x-api-key": DISABLED_KEY}, {"x-api-key": LOOSE_KEY}):
        response = secured.call("GET", "/keyed", headers=headers)
        assert (response.status, response.body) == (403, FORBIDDEN), headers
        assert header(response, "x-amzn-ErrorType") == "ForbiddenException"


def test_the_plan_throttles_then_its_quota_runs_out_until_the_next_day(secured: Secured) -> None:
    key = {"X-API-Key": KEY}  # header names are case-insensitive
    # burst 2: two at once pass, the third (another method of the plan) finds the bucket empty
    assert [secured.call("GET", "/keyed", headers=key).status for _ in range(2)] == [200, 200]
    throttled = secured.call("POST", "/keyed", headers=key)  # one bucket per key for all methods
    assert (throttled.status, throttled.body) == (429, b'{"message":"Too Many Requests"}')
    assert header(throttled, "x-amzn-ErrorType") == "TooManyRequestsException"
    secured.now += 1.0  # rate 1/s: one token back
    proxied = secured.call("POST", "/keyed", headers=key)  # the third of the day's quota of 3
    assert proxied.status == 200 and body(proxied)["apiKey"] == KEY  # $context.identity.apiKey
    secured.now += 10.0
    spent = secured.call("GET", "/keyed", headers=key)
    assert (spent.status, spent.body) == (429, b'{"message":"Limit Exceeded"}')
    assert header(spent, "x-amzn-ErrorType") == "LimitExceededException"
    secured.now += 86_400  # the DAY window turns at midnight UTC
    assert secured.call("GET", "/keyed", headers=key).status == 200


def test_the_stage_method_throttle_applies_to_that_method_only(secured: Secured) -> None:
    assert secured.call("GET", "/throttled").status == 200
    assert secured.call("GET", "/throttled").status == 429  # burst 1
    assert secured.call("GET", "/token-mock").status == 401  # another method: no throttle, its own answer
    secured.now += 1.0
    assert secured.call("GET", "/throttled").status == 200


def test_token_bucket_and_quota_window() -> None:
    bucket = TokenBucket(Throttle(rate=2.0, burst=3), now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert [bucket.take(0.5), bucket.take(0.5)] == [True, False]  # 2/s refills one token in 0.5 s
    assert bucket.take(100.0) and bucket.tokens == 2.0  # never above the burst
    week = QuotaCounter(Quota(limit=1, period="WEEK"))
    monday = 4 * 86_400.0  # 1970-01-05 was a Monday
    assert week.take(monday + 5) and not week.take(monday + 6 * 86_400)
    assert week.take(monday + 7 * 86_400)


@given(
    rate=st.floats(min_value=0.1, max_value=100.0),
    burst=st.integers(min_value=0, max_value=50),
    gaps=st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=200),
)
def test_a_bucket_never_admits_more_than_its_burst_plus_its_rate(
    rate: float, burst: int, gaps: list[float]
) -> None:
    """The token bucket's contract: over any span, admitted <= burst + rate * elapsed."""
    bucket = TokenBucket(Throttle(rate, burst), now=0.0)
    now, admitted = 0.0, 0
    for gap in gaps:
        now += gap
        admitted += bucket.take(now)
        assert 0.0 <= bucket.tokens <= burst
    assert admitted <= burst + rate * now + 1e-6
