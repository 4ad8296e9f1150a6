"""The sample stack: the seed's system, as ``app.py`` deploys it and the local runtime serves it.

The cdk-nag findings left after the constructs' own are the sample's choices, acknowledged here with
the reason; a production stack would revisit each one.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicies, Stack
from constructs import Construct

from asyncgate.cdk.nag import acknowledge
from asyncgate.cdk.pattern import AsyncWorkflowApi

__all__ = ["AsyncGateSampleStack"]

_CHOICES = {
    "AwsSolutions-APIG2": "The workflow takes any JSON document; a body that is not JSON fails in the "
    "request template and any other content type gets 415 (passthrough NEVER).",
    "AwsSolutions-APIG3": "A sample webhook; put a WAFv2 web ACL on the stage before exposing it.",
    "AwsSolutions-APIG4": "The seed's webhook is public; add an IAM or Cognito authorizer for real callers.",
    "AwsSolutions-COG4": "No Cognito user pool in the sample (see APIG4).",
    "AwsSolutions-L1": "Pinned to python3.12 so a deploy does not change runtime when aws-cdk-lib moves "
    "its idea of the latest one; raise it on purpose.",
}


class AsyncGateSampleStack(Stack):
    """One ``AsyncWorkflowApi`` with the seed's names (the API's URL is the stack's output).

    Its log groups are removed with the stack: they have fixed names, so a retained one would make
    the next deploy fail with "already exists". (The API Gateway CloudWatch role stays retained, as
    CDK makes it: the account's logging setting keeps pointing at it.)

    Example
    -------
    ```python
    from aws_cdk import App
    from asyncgate.cdk import AsyncGateSampleStack

    app = App()
    AsyncGateSampleStack(app, "AsyncGateSample")
    app.synth()
    ```
    """

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.pattern = AsyncWorkflowApi(self, "AsyncGate")
        RemovalPolicies.of(self).destroy(apply_to_resource_types=["AWS::Logs::LogGroup"])
        for rule, reason in _CHOICES.items():
            acknowledge(self, rule, reason)
