"""``Iam``: identity-policy evaluation for the template's roles.

A real CDK app (synthesized once for the module) provides the policies CDK writes for ``grant_*``
calls, managed policies and explicit denies; hand-built stacks cover operators and wildcard corners;
hypothesis checks the wildcard matcher against ``fnmatch`` with IAM's case rules.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncgate.local.assembly import Resource, Stack, load_assembly
from asyncgate.local.iam import Decision, Iam, caller_arn, role_name_of
from asyncgate.local.iam.policy import compile_patterns

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ACCOUNT = "000000000000"


def synth_iam_app(outdir: Path) -> Path:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sqs as sqs
    from aws_cdk import aws_stepfunctions as sfn

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "IamTest")
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )
    api = iam.ServicePrincipal("apigateway.amazonaws.com")
    starter = iam.Role(stack, "Starter", assumed_by=api, role_name="starter")
    machine.grant_start_execution(starter)

    fn = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c):\n    return e\n"),
    )
    invoker = iam.Role(stack, "Invoker", assumed_by=api)
    fn.grant_invoke(invoker)

    denied = iam.Role(stack, "Denied", assumed_by=api, role_name="denied")
    denied.add_to_policy(iam.PolicyStatement(actions=["states:*"], resources=["*"]))
    denied.add_to_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY, actions=["states:StartExecution"], resources=[machine.state_machine_arn]
        )
    )

    admin_ish = iam.Role(stack, "NotIam", assumed_by=api, role_name="not-iam")
    admin_ish.add_to_policy(iam.PolicyStatement(not_actions=["iam:*"], resources=["*"]))

    queue = sqs.Queue(stack, "Queue")
    attached = iam.ManagedPolicy(
        stack,
        "SendPolicy",
        statements=[iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])],
    )
    managed_role = iam.Role(
        stack,
        "WithManaged",
        assumed_by=api,
        role_name="with-managed",
        managed_policies=[attached, iam.ManagedPolicy.from_aws_managed_policy_name("AmazonS3ReadOnlyAccess")],
        inline_policies={
            "logs": iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        actions=["logs:Get*"], resources=["arn:aws:logs:*:*:log-group:app-?:*"]
                    )
                ]
            )
        },
    )
    iam.ManagedPolicy(
        stack,
        "ByRoles",
        roles=[managed_role],
        statements=[
            iam.PolicyStatement(
                actions=["sqs:ReceiveMessage"],
                not_resources=[queue.queue_arn],
            )
        ],
    )
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def app_stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    return load_assembly(synth_iam_app(tmp_path_factory.mktemp("iam") / "cdk.out")).stack("IamTest")


@pytest.fixture(scope="module")
def iam(app_stack: Stack) -> Iam:
    return Iam.from_stacks([app_stack])


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def first(stack: Stack, type_: str, prefix: str) -> Resource:
    return next(r for r in stack.of_type(type_) if r.logical_id.startswith(prefix))


# -- the CDK app -------------------------------------------------------------------------------------------
def test_grant_start_execution(iam: Iam, app_stack: Stack) -> None:
    machine = first(app_stack, "AWS::StepFunctions::StateMachine", "Machine").physical_id
    assert iam.is_allowed(role_arn("starter"), "states:StartExecution", machine)
    assert iam.is_allowed(f"arn:aws:sts::{ACCOUNT}:assumed-role/starter/s", "states:startexecution", machine)
    assert not iam.is_allowed(role_arn("starter"), "states:StartSyncExecution", machine)
    assert not iam.is_allowed(role_arn("starter"), "states:StartExecution", machine + "-other")


def test_grant_invoke_covers_versions_and_aliases(iam: Iam, app_stack: Stack) -> None:
    fn = first(app_stack, "AWS::Lambda::Function", "Fn").attributes["Arn"]
    invoker = first(app_stack, "AWS::IAM::Role", "Invoker").attributes["Arn"]
    assert iam.is_allowed(invoker, "lambda:InvokeFunction", fn)
    assert iam.is_allowed(invoker, "lambda:InvokeFunction", fn + ":live")
    assert not iam.is_allowed(invoker, "lambda:InvokeFunction", fn + "2")


def test_roles_do_not_share_policies(iam: Iam, app_stack: Stack) -> None:
    fn = first(app_stack, "AWS::Lambda::Function", "Fn").attributes["Arn"]
    machine = first(app_stack, "AWS::StepFunctions::StateMachine", "Machine").physical_id
    assert not iam.is_allowed(role_arn("starter"), "lambda:InvokeFunction", fn)
    invoker = first(app_stack, "AWS::IAM::Role", "Invoker").attributes["Arn"]
    assert not iam.is_allowed(invoker, "states:StartExecution", machine)
    assert not iam.is_allowed(role_arn("nobody"), "states:StartExecution", machine)


def test_explicit_deny_wins_over_a_wildcard_allow(iam: Iam, app_stack: Stack) -> None:
    machine = first(app_stack, "AWS::StepFunctions::StateMachine", "Machine").physical_id
    assert iam.decide(role_arn("denied"), "states:StartExecution", machine) is Decision.EXPLICIT_DENY
    assert iam.is_allowed(role_arn("denied"), "states:DescribeExecution", machine)
    assert iam.denial_message(role_arn("denied"), "states:StartExecution", machine) == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/denied/BackplaneAssumeRoleSession is not authorized to "
        f"perform: states:StartExecution on resource: {machine} "
        "with an explicit deny in an identity-based policy"
    )


def test_implicit_denial_message(iam: Iam, app_stack: Stack) -> None:
    machine = first(app_stack, "AWS::StepFunctions::StateMachine", "Machine").physical_id
    message = iam.denial_message(role_arn("starter"), "states:StartSyncExecution", machine, session="s1")
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/starter/s1 is not authorized to perform: "
        f"states:StartSyncExecution on resource: {machine} because no identity-based policy allows the "
        "states:StartSyncExecution action"
    )


def test_not_action(iam: Iam) -> None:
    assert iam.is_allowed(role_arn("not-iam"), "s3:GetObject", "arn:aws:s3:::b/k")
    assert not iam.is_allowed(role_arn("not-iam"), "iam:PassRole", role_arn("x"))
    assert not iam.is_allowed(role_arn("not-iam"), "IAM:CreateRole", role_arn("x"))


def test_managed_policies_attached_both_ways_and_inline(iam: Iam, app_stack: Stack) -> None:
    queue = first(app_stack, "AWS::SQS::Queue", "Queue").attributes["Arn"]
    role = role_arn("with-managed")
    assert iam.is_allowed(role, "sqs:SendMessage", queue)  # ManagedPolicyArns -> template ManagedPolicy
    assert not iam.is_allowed(role, "sqs:ReceiveMessage", queue)  # ManagedPolicy.Roles with NotResource
    assert iam.is_allowed(role, "sqs:ReceiveMessage", queue + "-other")
    assert iam.is_allowed(role, "logs:GetLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app-1:*")
    assert not iam.is_allowed(
        role, "logs:GetLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app-12:*"
    )
    assert not iam.is_allowed(role, "s3:GetObject", "arn:aws:s3:::b/k")  # unknown AWS managed policy


def test_lambda_basic_execution_role(iam: Iam, app_stack: Stack) -> None:
    fn = first(app_stack, "AWS::Lambda::Function", "Fn")
    role = fn.properties["Role"]
    assert iam.is_allowed(
        role, "logs:PutLogEvents", "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/x:*"
    )
    assert not iam.is_allowed(role, "logs:DeleteLogGroup", "*")


def test_unknown_aws_managed_policy_warns_once(app_stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    import asyncgate.local.iam as iam_module

    iam_module._warned.clear()
    with caplog.at_level(logging.WARNING, logger="asyncgate.local.iam"):
        Iam.from_stacks([app_stack])
        Iam.from_stacks([app_stack])
    warnings = [r for r in caplog.records if "AmazonS3ReadOnlyAccess" in r.getMessage()]
    assert len(warnings) == 1


# -- hand-built policies -----------------------------------------------------------------------------------
def iam_for(*statements: dict[str, Any], name: str = "r") -> Iam:
    role = Resource(
        "R",
        "AWS::IAM::Role",
        {"Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}]},
        name,
        {"Arn": role_arn(name)},
    )
    return Iam.from_stacks([Stack("S", {"R": role}, {})])


def allow(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "*", "Resource": "*", **fields}


def test_question_mark_and_case_rules() -> None:
    iam = iam_for(allow(Action="s3:Get?bject", Resource="arn:aws:s3:::Bucket/*"))
    assert iam.is_allowed("r", "S3:GETOBJECT", "arn:aws:s3:::Bucket/a/b")
    assert not iam.is_allowed("r", "s3:GetObjects", "arn:aws:s3:::Bucket/a")
    assert not iam.is_allowed("r", "s3:GetObject", "arn:aws:s3:::bucket/a")  # resources are case-sensitive


def test_policy_variable_escapes_and_unresolved_variables() -> None:
    iam = iam_for(allow(Resource=["arn:aws:s3:::b/${*}", "arn:aws:s3:::u/${aws:username}/*"]))
    assert iam.is_allowed("r", "s3:GetObject", "arn:aws:s3:::b/*")
    assert not iam.is_allowed("r", "s3:GetObject", "arn:aws:s3:::b/x")
    assert not iam.is_allowed("r", "s3:GetObject", "arn:aws:s3:::u/alice/x")


def test_statement_without_resource_or_with_bad_effect_does_nothing() -> None:
    iam = iam_for({"Effect": "Allow", "Action": "*"}, {"Effect": "Maybe", "Action": "*", "Resource": "*"})
    assert not iam.is_allowed("r", "s3:GetObject", "x")


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {"aws:sourceaccount": ACCOUNT}, True),
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {"aws:SourceAccount": "1"}, False),
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {}, False),
        ({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, {}, True),
        ({"StringNotEquals": {"k": "a"}}, {}, True),  # a missing key satisfies a negated operator
        ({"StringNotEquals": {"k": "a"}}, {"k": "a"}, False),
        ({"StringEqualsIgnoreCase": {"k": "ABC"}}, {"k": "abc"}, True),
        ({"StringLike": {"k": ["x*", "y?"]}}, {"k": "yz"}, True),
        ({"StringNotLike": {"k": "x*"}}, {"k": "xa"}, False),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:states:*:*:stateMachine:*"}},
            {"aws:SourceArn": "arn:aws:states:us-east-1:1:stateMachine:m"},
            True,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:sqs:us-east-1:1:q"}},
            {"aws:SourceArn": "arn:aws:sqs:us-east-1:1:r"},
            False,
        ),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "True"}, True),
        ({"Null": {"k": "true"}}, {}, True),
        ({"Null": {"k": "false"}}, {}, False),
        ({"StringEquals": {"a": "1", "b": "2"}}, {"a": "1", "b": "3"}, False),  # keys are ANDed
        ({"StringEquals": {"a": "1"}, "StringLike": {"b": "*"}}, {"a": "1", "b": "x"}, True),
        ({"NumericLessThan": {"n": "5"}}, {"n": "1"}, False),  # unsupported: never matches
        ({"ForAnyValue:StringEquals": {"k": "a"}}, {"k": "a"}, False),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, str], allowed: bool) -> None:
    assert iam_for(allow(Condition=condition)).is_allowed("r", "s3:GetObject", "x", context) is allowed


def test_unsupported_operator_on_a_deny_does_not_deny() -> None:
    iam = iam_for(
        allow(), {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"a": "1"}}}
    )
    assert iam.is_allowed("r", "s3:GetObject", "x", {"a": "1"})


def test_principal_forms() -> None:
    assert role_name_of("plain") == "plain"
    assert role_name_of(f"arn:aws:iam::{ACCOUNT}:role/a/b/name") == "name"
    assert (
        caller_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/n/s") == f"arn:aws:sts::{ACCOUNT}:assumed-role/n/s"
    )
    assert caller_arn("n", "x") == f"arn:aws:sts::{ACCOUNT}:assumed-role/n/x"


# -- wildcard matching vs fnmatch --------------------------------------------------------------------------
chars = st.sampled_from(list("aAbB:/-*?."))
text = st.text(alphabet=st.sampled_from(list("aAbB:/-.")), max_size=8)


@given(pattern=st.text(alphabet=chars, max_size=8), value=text)
def test_resource_wildcards_match_like_fnmatchcase(pattern: str, value: str) -> None:
    assert compile_patterns([pattern], ignore_case=False).matches(value) == fnmatch.fnmatchcase(
        value, pattern
    )


@given(pattern=st.text(alphabet=chars, max_size=8), value=text)
def test_action_wildcards_ignore_case(pattern: str, value: str) -> None:
    matched = compile_patterns([pattern], ignore_case=True).matches(value.lower())
    assert matched == fnmatch.fnmatchcase(value.lower(), pattern.lower())


@given(patterns=st.lists(st.text(alphabet=chars, max_size=6), max_size=4), value=text)
def test_pattern_lists_match_if_any_matches(patterns: list[str], value: str) -> None:
    expected = any(fnmatch.fnmatchcase(value, p) for p in patterns)
    assert compile_patterns(patterns, ignore_case=False).matches(value) == expected


# -- permissions boundaries ---------------------------------------------------------------------------------
def boundary_iam(boundary_arn: str) -> Iam:
    role = Resource(
        "R",
        "AWS::IAM::Role",
        {
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [allow(Action="states:*")]}}],
            "PermissionsBoundary": boundary_arn,
        },
        "r",
        {"Arn": role_arn("r")},
    )
    boundary = Resource(
        "B",
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    allow(Action="states:Start*"),
                    {"Effect": "Deny", "Action": "states:StartSyncExecution", "Resource": "*"},
                ]
            }
        },
        f"arn:aws:iam::{ACCOUNT}:policy/boundary",
    )
    return Iam.from_stacks([Stack("S", {"R": role, "B": boundary}, {})])


def test_permissions_boundary_limits_the_identity_policies() -> None:
    iam = boundary_iam(f"arn:aws:iam::{ACCOUNT}:policy/boundary")
    assert iam.is_allowed("r", "states:StartExecution", "m")
    assert iam.denial_message("r", "states:DescribeExecution", "m", session="s") == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/r/s is not authorized to perform: "
        "states:DescribeExecution on resource: m because no permissions boundary allows the "
        "states:DescribeExecution action"
    )
    assert iam.denial_message("r", "states:StartSyncExecution", "m", session="s").endswith(
        "with an explicit deny in a permissions boundary"
    )


def test_unknown_permissions_boundary_is_ignored() -> None:
    iam = boundary_iam(f"arn:aws:iam::{ACCOUNT}:policy/elsewhere")
    assert iam.is_allowed("r", "states:DescribeExecution", "m")
