"""Identity-policy evaluation for the roles in the template.

Why hand-written: the gateway checks its integration's credentials role on every request, and the check
must say what AWS would say. The Python options are the IAM policy simulator (an AWS API call, so an
account and the network), moto's ``IAMPolicyDocumentValidator``/``IAMRequest`` (tied to moto's backend,
no NotResource, slow regex building per call) and policyuniverse/policy_sentry (analysis tools that
expand actions against a service catalogue, not request evaluators). What we need is small: a role's
identity policies, compiled once at load, then a few set lookups and precompiled regexes per request
(~2 µs). So it is written here.

What is evaluated (the same-account subset of AWS's evaluation logic; no SCPs, permission boundaries,
session policies or resource-based policies):

- the role's inline ``Policies``; ``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy`` resources that
  list the role in ``Roles``; ``AWS::IAM::RolePolicy``; ``ManagedPolicyArns`` naming a template
  ManagedPolicy, or one of the AWS managed policies in ``AWS_MANAGED_POLICIES`` (any other AWS managed
  policy allows nothing, with a warning logged once per ARN);
- a role's ``PermissionsBoundary`` (a template ManagedPolicy or a known AWS managed one; an unknown
  boundary is ignored with a warning, so an app does not lose every permission locally): the request
  must be allowed by both the identity policies and the boundary;
- explicit ``Deny`` wins, then ``Allow``, else implicit deny; ``Action``/``NotAction`` (case-insensitive),
  ``Resource``/``NotResource`` (case-sensitive), ``*`` and ``?`` wildcards that match across ``:`` and
  ``/``; the ``${*}``, ``${?}`` and ``${$}`` escapes. A pattern with any other policy variable
  (``${aws:username}``) never matches;
- ``Condition`` with ``StringEquals``, ``StringNotEquals``, ``StringEqualsIgnoreCase``,
  ``StringNotEqualsIgnoreCase``, ``StringLike``, ``StringNotLike``, ``ArnEquals``, ``ArnLike``,
  ``ArnNotEquals``, ``ArnNotLike``, ``Bool`` (each also with ``...IfExists``) and ``Null``, over the
  caller's ``context`` (keys case-insensitive). A missing key fails a positive operator and satisfies a
  negated one, as AWS documents. **Any other operator (Numeric*, Date*, IpAddress, ForAnyValue:...) is
  treated as not matching**: an Allow behind it grants nothing, and a Deny behind it does not deny.

Example:
    >>> iam = Iam.from_stacks(load_assembly(Path("cdk.out")).stacks)          # doctest: +SKIP
    >>> iam.is_allowed(role_arn, "states:StartExecution", machine_arn)          # doctest: +SKIP
    True
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from asyncgate.local.arns import DEFAULT_ACCOUNT, PARTITION
from asyncgate.local.assembly import Stack

__all__ = ["API_GATEWAY_SESSION", "AWS_MANAGED_POLICIES", "Decision", "Iam", "caller_arn", "role_name_of"]

log = logging.getLogger(__name__)

#: The role session name API Gateway uses when it assumes an integration's credentials role.
API_GATEWAY_SESSION = "BackplaneAssumeRoleSession"

_LOGS_WRITE = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


def _allow(actions: list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


#: AWS managed policies CDK commonly attaches, by the ARN part after ``:policy/``. Their documents are
#: not in the template; these are the statements that matter locally (abridged from AWS's versions).
AWS_MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "service-role/AWSLambdaBasicExecutionRole": [_allow(_LOGS_WRITE)],
    "service-role/AWSLambdaVPCAccessExecutionRole": [
        _allow(
            [
                *_LOGS_WRITE,
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ]
        )
    ],
    "service-role/AWSLambdaSQSQueueExecutionRole": [
        _allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS_WRITE])
    ],
    "service-role/AWSLambdaDynamoDBExecutionRole": [
        _allow(
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                *_LOGS_WRITE,
            ]
        )
    ],
    "service-role/AWSLambdaKinesisExecutionRole": [
        _allow(
            [
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
                "kinesis:ListStreams",
                "kinesis:SubscribeToShard",
                *_LOGS_WRITE,
            ]
        )
    ],
    "service-role/AWSLambdaRole": [_allow(["lambda:InvokeFunction"])],
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs": [
        _allow(
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
            ]
        )
    ],
    "AWSXrayWriteOnlyAccess": [
        _allow(
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ]
        )
    ],
    "AWSLambdaExecute": [_allow(["logs:*"], "arn:aws:logs:*:*:*"), _allow(["s3:GetObject", "s3:PutObject"])],
    "CloudWatchLogsFullAccess": [_allow(["logs:*"])],
    "AWSStepFunctionsFullAccess": [_allow(["states:*"])],
    "AdministratorAccess": [_allow(["*"])],
}

_warned: set[str] = set()


class Decision(enum.Enum):
    """The outcome of evaluating a request, as AWS distinguishes it in its error messages."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


def role_name_of(principal: str) -> str:
    """The role name in a role ARN, an assumed-role (STS) ARN, or a bare name.

    Example:
        >>> role_name_of("arn:aws:sts::000000000000:assumed-role/MyRole/session")
        'MyRole'
        >>> role_name_of("arn:aws:iam::000000000000:role/service-role/MyRole")
        'MyRole'
    """
    if not principal.startswith("arn:"):
        return principal
    resource = principal.split(":", 5)[-1]
    if resource.startswith("assumed-role/"):
        return resource.split("/")[1]
    return resource.rsplit("/", 1)[-1]


# -- wildcard patterns -------------------------------------------------------------------------------------
_ESCAPES = {"${*}": "\\*", "${?}": "\\?", "${$}": "\\$"}
_TOKENS = re.compile(r"\$\{[^}]*\}|\*|\?|[^$*?]+|\$")


def _wildcard_regex(pattern: str) -> str | None:
    """IAM wildcards as a regex: ``*`` any run, ``?`` one character; None if it holds a policy variable."""
    out = []
    for token in _TOKENS.findall(pattern):
        if token == "*":
            out.append(".*")
        elif token == "?":
            out.append(".")
        elif token.startswith("${"):
            if token not in _ESCAPES:
                return None
            out.append(_ESCAPES[token])
        else:
            out.append(re.escape(token))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Patterns:
    """An Action or Resource list compiled once: a match-all flag, an exact set, one alternation regex."""

    any: bool
    exact: frozenset[str]
    regex: re.Pattern[str] | None

    def matches(self, value: str) -> bool:
        return (
            self.any
            or value in self.exact
            or (self.regex is not None and self.regex.fullmatch(value) is not None)
        )


def _compile_patterns(patterns: Iterable[str], *, ignore_case: bool) -> _Patterns:
    """Compile IAM wildcard patterns; with ``ignore_case`` the caller lower-cases the value it tests."""
    exact: set[str] = set()
    regexes: list[str] = []
    for raw in patterns:
        pattern = raw.lower() if ignore_case else raw
        if pattern == "*":
            return _Patterns(True, frozenset(), None)
        if not any(c in pattern for c in "*?$"):
            exact.add(pattern)
        elif (regex := _wildcard_regex(pattern)) is not None:
            regexes.append(regex)
    compiled = re.compile("|".join(f"(?:{r})" for r in regexes), re.DOTALL) if regexes else None
    return _Patterns(False, frozenset(exact), compiled)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v) for v in items]


# -- conditions --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Condition:
    """One ``Operator: {key: values}`` entry; ``test`` is None for an operator we do not evaluate."""

    key: str
    test: Callable[[str], bool] | None
    negated: bool = False
    if_exists: bool = False
    null: bool | None = None  # for the Null operator: True means "the key must be absent"

    def holds(self, context: Mapping[str, str]) -> bool:
        if self.test is None:
            return False
        value = context.get(self.key)
        if self.null is not None:
            return (value is None) is self.null
        if value is None:
            return self.if_exists or self.negated
        return self.test(value) is not self.negated


def _condition_test(operator: str, values: list[str]) -> tuple[Callable[[str], bool] | None, bool]:
    """(test, negated) for a base operator (without ``IfExists``); (None, False) when unsupported."""
    negated = "Not" in operator
    base = operator.replace("Not", "", 1) if negated else operator
    match base:
        case "StringEquals":
            accepted = frozenset(values)
            return accepted.__contains__, negated
        case "StringEqualsIgnoreCase":
            lowered = frozenset(v.lower() for v in values)
            return (lambda v: v.lower() in lowered), negated
        case "StringLike" | "ArnLike" | "ArnEquals":
            patterns = _compile_patterns(values, ignore_case=False)
            return patterns.matches, negated
        case "Bool":
            truth = frozenset(v.lower() for v in values)
            return (lambda v: v.lower() in truth), False
    return None, False


def _compile_conditions(block: Any) -> tuple[_Condition, ...]:
    if not isinstance(block, dict):
        return ()
    compiled: list[_Condition] = []
    for operator, entries in block.items():
        if not isinstance(entries, dict):
            compiled.append(_Condition("", None))
            continue
        for key, raw in entries.items():
            values = _strings(raw)
            if operator == "Null":
                compiled.append(_Condition(key.lower(), bool, null=values[:1] == ["true"]))
                continue
            if_exists = operator.endswith("IfExists") and ":" not in operator
            base = operator[: -len("IfExists")] if if_exists else operator
            test, negated = _condition_test(base, values) if ":" not in base else (None, False)
            compiled.append(_Condition(key.lower(), test, negated, if_exists))
    return tuple(compiled)


# -- statements and roles ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Statement:
    """One policy statement, compiled. ``actions`` match lower-cased actions."""

    allow: bool
    actions: _Patterns
    not_action: bool
    resources: _Patterns
    not_resource: bool
    conditions: tuple[_Condition, ...]

    def applies(self, action: str, resource: str, context: Mapping[str, str]) -> bool:
        if self.actions.matches(action) is self.not_action:
            return False
        if self.resources.matches(resource) is self.not_resource:
            return False
        return all(c.holds(context) for c in self.conditions)


def _compile_statement(raw: Mapping[str, Any]) -> _Statement:
    not_action = "NotAction" in raw
    not_resource = "NotResource" in raw
    return _Statement(
        allow=raw.get("Effect") == "Allow",
        actions=_compile_patterns(
            _strings(raw.get("NotAction" if not_action else "Action")), ignore_case=True
        ),
        not_action=not_action,
        resources=_compile_patterns(
            _strings(raw.get("NotResource" if not_resource else "Resource")), ignore_case=False
        ),
        not_resource=not_resource,
        conditions=_compile_conditions(raw.get("Condition")),
    )


def _statements(document: Any) -> list[Mapping[str, Any]]:
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


@dataclass(frozen=True, slots=True)
class _Role:
    """A role's identity policies, split by effect so Deny statements are checked first."""

    name: str
    arn: str
    denies: tuple[_Statement, ...]
    allows: tuple[_Statement, ...]
    #: the permissions boundary's statements, or None when the role has no (known) boundary
    boundary: _Role | None = None


_EMPTY: Mapping[str, str] = {}
_IDENTITY = "identity-based policy"
_BOUNDARY = "permissions boundary"


def _decide(role: _Role, action: str, resource: str, context: Mapping[str, str]) -> Decision:
    for statement in role.denies:
        if statement.applies(action, resource, context):
            return Decision.EXPLICIT_DENY
    for statement in role.allows:
        if statement.applies(action, resource, context):
            return Decision.ALLOW
    return Decision.IMPLICIT_DENY


class Iam:
    """The identity policies of every role in the assembly, compiled for fast checks.

    Example:
        >>> iam = Iam.from_stacks([])
        >>> iam.is_allowed("arn:aws:iam::000000000000:role/nobody", "states:StartExecution", "*")
        False
    """

    __slots__ = ("_roles",)

    def __init__(self, roles: Mapping[str, _Role]) -> None:
        self._roles = dict(roles)

    @classmethod
    def from_stacks(cls, stacks: Iterable[Stack]) -> Iam:
        """Collect and compile the policies attached to each ``AWS::IAM::Role`` of ``stacks``."""
        stacks = list(stacks)
        documents: dict[str, list[Any]] = {}
        arns: dict[str, str] = {}
        managed: dict[str, Any] = {}  # template ManagedPolicy ARN -> document
        boundaries: dict[str, Any] = {}  # role name -> permissions boundary document
        for stack in stacks:
            for role in stack.of_type("AWS::IAM::Role"):
                arns[role.physical_id] = str(role.attributes.get("Arn", role.physical_id))
                docs = documents.setdefault(role.physical_id, [])
                docs.extend(p.get("PolicyDocument") for p in role.properties.get("Policies", []) or [])
            for policy in stack.of_type("AWS::IAM::ManagedPolicy"):
                managed[policy.physical_id] = policy.properties.get("PolicyDocument")
        for stack in stacks:
            for policy in [*stack.of_type("AWS::IAM::Policy"), *stack.of_type("AWS::IAM::ManagedPolicy")]:
                for role_ref in _strings(policy.properties.get("Roles")):
                    documents.setdefault(role_name_of(role_ref), []).append(
                        policy.properties.get("PolicyDocument")
                    )
            for policy in stack.of_type("AWS::IAM::RolePolicy"):
                role_name = role_name_of(str(policy.properties.get("RoleName", "")))
                documents.setdefault(role_name, []).append(policy.properties.get("PolicyDocument"))
            for role in stack.of_type("AWS::IAM::Role"):
                for policy_arn in _strings(role.properties.get("ManagedPolicyArns")):
                    documents[role.physical_id].append(_managed_document(policy_arn, managed))
                if boundary_arn := role.properties.get("PermissionsBoundary"):
                    boundaries[role.physical_id] = _managed_document(str(boundary_arn), managed, "boundary")
        return cls(
            {
                name: _compile_role(name, arns.get(name), docs, boundaries.get(name))
                for name, docs in documents.items()
            }
        )

    @property
    def role_names(self) -> list[str]:
        """The names of the roles known to this evaluator (roles in the template, and roles policies name)."""
        return sorted(self._roles)

    def decide(
        self, principal_arn: str, action: str, resource_arn: str, context: Mapping[str, str] | None = None
    ) -> Decision:
        """Evaluate one request: explicit Deny wins, then Allow, else implicit deny."""
        return self._evaluate(principal_arn, action, resource_arn, context)[0]

    def _evaluate(
        self, principal_arn: str, action: str, resource_arn: str, context: Mapping[str, str] | None
    ) -> tuple[Decision, str]:
        """The decision, and the policy type AWS names in the message (identity-based or boundary)."""
        role = self._roles.get(role_name_of(principal_arn))
        if role is None:
            return Decision.IMPLICIT_DENY, _IDENTITY
        action = action.lower()
        ctx = {k.lower(): v for k, v in context.items()} if context else _EMPTY
        decision = _decide(role, action, resource_arn, ctx)
        if decision is not Decision.ALLOW or role.boundary is None:
            return decision, _IDENTITY
        return _decide(role.boundary, action, resource_arn, ctx), _BOUNDARY

    def is_allowed(
        self, principal_arn: str, action: str, resource_arn: str, context: Mapping[str, str] | None = None
    ) -> bool:
        """True when the principal's identity policies allow ``action`` on ``resource_arn``.

        Example:
            >>> Iam.from_stacks([]).is_allowed("r", "s3:GetObject", "arn:aws:s3:::b/k")
            False
        """
        return self.decide(principal_arn, action, resource_arn, context) is Decision.ALLOW

    def denial_message(
        self,
        principal_arn: str,
        action: str,
        resource_arn: str,
        context: Mapping[str, str] | None = None,
        *,
        session: str = API_GATEWAY_SESSION,
    ) -> str:
        """AWS's AccessDenied text for a denied request (the IAM user guide's documented format).

        A role ARN is shown as the assumed-role session that made the call (``session``; API Gateway's by
        default), as AWS does.

        Example:
            >>> role = "arn:aws:iam::000000000000:role/r"
            >>> Iam.from_stacks([]).denial_message(role, "states:StartExecution", "x")
            'User: arn:aws:sts::000000000000:assumed-role/r/BackplaneAssumeRoleSession is not authorized to \
perform: states:StartExecution on resource: x because no identity-based policy allows the \
states:StartExecution action'
        """
        user = caller_arn(principal_arn, session)
        decision, policy_type = self._evaluate(principal_arn, action, resource_arn, context)
        if decision is Decision.EXPLICIT_DENY:
            article = "an" if policy_type[0] in "aeiou" else "a"
            reason = f"with an explicit deny in {article} {policy_type}"
        else:
            reason = f"because no {policy_type} allows the {action} action"
        return f"User: {user} is not authorized to perform: {action} on resource: {resource_arn} {reason}"


def caller_arn(principal: str, session: str = API_GATEWAY_SESSION) -> str:
    """The STS assumed-role ARN a role's session shows up as (role paths are dropped, as AWS does).

    Example:
        >>> caller_arn("arn:aws:iam::000000000000:role/path/r", "s")
        'arn:aws:sts::000000000000:assumed-role/r/s'
    """
    if ":assumed-role/" in principal:
        return principal
    account = principal.split(":")[4] if principal.startswith("arn:") else DEFAULT_ACCOUNT
    return f"arn:{PARTITION}:sts::{account}:assumed-role/{role_name_of(principal)}/{session}"


def _managed_document(policy_arn: str, template: Mapping[str, Any], use: str = "policy") -> Any:
    if policy_arn in template:
        return template[policy_arn]
    _, _, name = policy_arn.partition(":policy/")
    if ":iam::aws:policy/" in policy_arn and name in AWS_MANAGED_POLICIES:
        return {"Statement": AWS_MANAGED_POLICIES[name]}
    if policy_arn not in _warned:
        _warned.add(policy_arn)
        effect = "it allows nothing here" if use == "policy" else "the boundary is ignored here"
        log.warning("managed policy %s is not in the template nor known locally: %s", policy_arn, effect)
    return None


def _compile_role(name: str, arn: str | None, documents: Iterable[Any], boundary: Any = None) -> _Role:
    compiled = [
        _compile_statement(s)
        for doc in documents
        for s in _statements(doc)
        if s.get("Effect") in ("Allow", "Deny")  # anything else is an invalid statement: it does nothing
    ]
    return _Role(
        name=name,
        arn=arn or f"arn:{PARTITION}:iam::{DEFAULT_ACCOUNT}:role/{name}",
        denies=tuple(s for s in compiled if not s.allow),
        allows=tuple(s for s in compiled if s.allow),
        boundary=_compile_role(f"{name} boundary", arn, [boundary]) if boundary is not None else None,
    )
