"""``Iam`` remembers its decisions (the gateway asks the same question on every webhook): a remembered
answer must be the one a fresh evaluation gives, whatever was asked before and in whatever order."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from asyncgate.local.assembly import Resource, Stack
from asyncgate.local.iam import Iam

ACCOUNT = "000000000000"
MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:"


def iam_with(statements: list[dict[str, Any]]) -> Iam:
    role = Resource(
        "R",
        "AWS::IAM::Role",
        {"Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": statements}}]},
        "r",
        {"Arn": f"arn:aws:iam::{ACCOUNT}:role/r"},
    )
    return Iam.from_stacks([Stack("S", {"R": role}, {})])


POLICY = [
    {"Effect": "Allow", "Action": "states:StartExecution", "Resource": f"{MACHINE}m*"},
    {"Effect": "Deny", "Action": "states:*", "Resource": f"{MACHINE}mx"},
    {
        "Effect": "Allow",
        "Action": "states:DescribeExecution",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    },
]

questions = st.tuples(
    st.sampled_from(["arn:aws:iam::000000000000:role/r", "r", "other"]),
    st.sampled_from(["states:StartExecution", "states:DescribeExecution", "STATES:startexecution"]),
    st.sampled_from([f"{MACHINE}m", f"{MACHINE}mx", f"{MACHINE}n", "*"]),
    st.sampled_from([None, {"aws:SourceAccount": ACCOUNT}, {"aws:SourceAccount": "1"}]),
)


Question = tuple[str, str, str, dict[str, str] | None]


@given(st.lists(questions, min_size=1, max_size=30))
def test_a_remembered_decision_is_a_fresh_one(asked: list[Question]) -> None:
    remembering = iam_with(POLICY)
    for principal, action, resource, context in asked:
        fresh = iam_with(POLICY)
        assert remembering.decide(principal, action, resource, context) is fresh.decide(
            principal, action, resource, context
        )
        assert remembering.denial_message(principal, action, resource, context) == fresh.denial_message(
            principal, action, resource, context
        )


def test_decisions_stay_right_past_the_memo_size() -> None:
    iam = iam_with(POLICY)
    assert iam.is_allowed("r", "states:StartExecution", f"{MACHINE}m")
    for i in range(10_000):  # one resource per call, as DescribeExecution's execution ARNs are
        assert iam.is_allowed("r", "states:StartExecution", f"{MACHINE}m{i}")
        assert not iam.is_allowed("r", "states:StartExecution", f"{MACHINE}n{i}")
    assert iam.is_allowed("r", "states:StartExecution", f"{MACHINE}m")
    assert not iam.is_allowed("r", "states:StartExecution", f"{MACHINE}mx")


def test_a_context_is_judged_each_time_not_remembered_as_the_context_free_answer() -> None:
    iam = iam_with(POLICY)
    action, resource, matching = "states:DescribeExecution", f"{MACHINE}n", {"aws:SourceAccount": ACCOUNT}
    for _ in range(2):
        assert not iam.is_allowed("r", action, resource)
        assert iam.is_allowed("r", action, resource, matching)
        assert not iam.is_allowed("r", action, resource, {"aws:SourceAccount": "1"})
