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

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from asyncgate.local.arns import DEFAULT_ACCOUNT, PARTITION
from asyncgate.local.assembly import Stack
from asyncgate.local.iam.managed import AWS_MANAGED_POLICIES
from asyncgate.local.iam.policy import (
    BOUNDARY,
    EMPTY_CONTEXT,
    IDENTITY,
    CompiledRole,
    Decision,
    compile_role,
    decide,
    strings_of,
)

__all__ = ["API_GATEWAY_SESSION", "AWS_MANAGED_POLICIES", "Decision", "Iam", "caller_arn", "role_name_of"]

log = logging.getLogger(__name__)

#: The role session name API Gateway uses when it assumes an integration's credentials role.
API_GATEWAY_SESSION = "BackplaneAssumeRoleSession"

_warned: set[str] = set()
#: decisions remembered per ``Iam`` before the memo starts over
_MAX_REMEMBERED = 4096


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



class Iam:
    """The identity policies of every role in the assembly, compiled for fast checks.

    Example:
        >>> iam = Iam.from_stacks([])
        >>> iam.is_allowed("arn:aws:iam::000000000000:role/nobody", "states:StartExecution", "*")
        False
    """

    __slots__ = ("_decisions", "_roles")

    def __init__(self, roles: Mapping[str, CompiledRole]) -> None:
        self._roles = dict(roles)
        #: (principal, action, resource) -> decision, for requests without a context. The roles never
        #: change after load, so a decision never does either; the gateway asks the same question
        #: (its credentials role, ``states:StartExecution``, the machine) on every webhook.
        self._decisions: dict[tuple[str, str, str], tuple[Decision, str]] = {}

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
                for role_ref in strings_of(policy.properties.get("Roles")):
                    documents.setdefault(role_name_of(role_ref), []).append(
                        policy.properties.get("PolicyDocument")
                    )
            for policy in stack.of_type("AWS::IAM::RolePolicy"):
                role_name = role_name_of(str(policy.properties.get("RoleName", "")))
                documents.setdefault(role_name, []).append(policy.properties.get("PolicyDocument"))
            for role in stack.of_type("AWS::IAM::Role"):
                for policy_arn in strings_of(role.properties.get("ManagedPolicyArns")):
                    documents[role.physical_id].append(_managed_document(policy_arn, managed))
                if boundary_arn := role.properties.get("PermissionsBoundary"):
                    boundaries[role.physical_id] = _managed_document(str(boundary_arn), managed, "boundary")
        return cls(
            {
                name: compile_role(name, arns.get(name), docs, boundaries.get(name))
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
        if context:
            return self._judge(principal_arn, action, resource_arn, context)
        key = (principal_arn, action, resource_arn)
        known = self._decisions.get(key)
        if known is None:
            if len(self._decisions) >= _MAX_REMEMBERED:
                self._decisions.clear()  # e.g. one execution ARN per call: keep the memory bounded
            known = self._decisions[key] = self._judge(principal_arn, action, resource_arn, None)
        return known

    def _judge(
        self, principal_arn: str, action: str, resource_arn: str, context: Mapping[str, str] | None
    ) -> tuple[Decision, str]:
        role = self._roles.get(role_name_of(principal_arn))
        if role is None:
            return Decision.IMPLICIT_DENY, IDENTITY
        action = action.lower()
        ctx = {k.lower(): v for k, v in context.items()} if context else EMPTY_CONTEXT
        decision = decide(role, action, resource_arn, ctx)
        if decision is not Decision.ALLOW or role.boundary is None:
            return decision, IDENTITY
        return decide(role.boundary, action, resource_arn, ctx), BOUNDARY

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

