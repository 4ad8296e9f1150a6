"""Acknowledging cdk-nag findings: the ones that are true by construction, with the reason why.

The constructs acknowledge only findings a user could not fix anyway (wildcards AWS requires, the
grants CDK writes); choices such as "no authorizer" are left to the app. Acknowledgements go through
CDK's own ``Validations`` API, so cdk-nag (a dev dependency) is not needed to import the constructs.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

__all__ = ["acknowledge", "finding_resource"]

_PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge an AwsSolutions finding on ``scope`` and everything under it.

    Example
    -------
    ```python
    acknowledge(stack, "AwsSolutions-APIG4", "A public webhook: callers are not authenticated.")
    ```
    """
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{_PACK}::{rule}", reason=reason))


def finding_resource(scope: IConstruct, value: str) -> str | None:
    """How cdk-nag spells ``value`` (an ARN, maybe a token) inside a finding like ``IAM5[Resource::...]``.

    A ``Fn::GetAtt`` reads ``<LogicalId.Attribute>`` and a literal reads as itself; for anything else
    (an import, a join) this returns ``None`` and the caller leaves the finding to the user.
    """
    match Stack.of(scope).resolve(value):
        case {"Fn::GetAtt": [str(logical_id), str(attribute)]}:
            return f"<{logical_id}.{attribute}>"
        case str() as literal:
            return literal
        case _:
            return None
