"""The processor function: the Lambda the sample workflow hands each payload to.

The seed builds it with ``GoFunction``; here it is plain Python, so the asset is the handler folder
itself and needs no bundling (no Docker, no toolchain at synth time). ``__pycache__`` is excluded from
the asset because it changes the asset hash on every local run without changing the code, and so is
the ``__init__.py`` that only makes the folder part of the installed package.

The function gets its own log group and a role that may write to that group only, instead of the
AWS managed ``AWSLambdaBasicExecutionRole``, which lets it create and write any log group.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from asyncgate.cdk.nag import acknowledge

__all__ = ["PROCESSOR_CODE_DIR", "ProcessorFunction"]

#: The folder deployed as the function's code (``handler.handler``).
PROCESSOR_CODE_DIR = Path(__file__).resolve().parent.parent / "functions" / "processor"
_NOT_CODE = ["__pycache__", "*.pyc", "__init__.py"]


class ProcessorFunction(Construct):
    """The seed's ``OneLambda``: a Python function that logs the event it receives.

    Parameters
    ----------
    function_name:
        The physical name; the seed fixes it to ``sample-func``, and the log group is then the usual
        ``/aws/lambda/sample-func``. Pass ``None`` to let CloudFormation name both (needed to deploy
        the stack twice in one account and region).
    runtime:
        The Lambda runtime of the handler.
    timeout:
        How long one invocation may run (the seed's 30 seconds by default).

    Example
    -------
    ```python
    from aws_cdk import Stack
    from asyncgate.cdk import ProcessorFunction

    stack = Stack()
    processor = ProcessorFunction(stack, "Processor")
    processor.function  # an IFunction, ready for a LambdaInvoke task
    ```
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function_name: str | None = "sample-func",
        runtime: lambda_.Runtime = lambda_.Runtime.PYTHON_3_12,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._log_group = logs.LogGroup(
            self, "Logs", log_group_name=f"/aws/lambda/{function_name}" if function_name else None
        )
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self._log_group.grant_write(role)
        self._function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            runtime=runtime,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(PROCESSOR_CODE_DIR), exclude=_NOT_CODE),
            timeout=timeout or Duration.seconds(30),
            role=role,
            log_group=self._log_group,
            tracing=lambda_.Tracing.ACTIVE,
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords take no resource ARN (active tracing).",
        )

    @property
    def function(self) -> lambda_.Function:
        """The Lambda function."""
        return self._function

    @property
    def log_group(self) -> logs.LogGroup:
        """The log group the function writes to."""
        return self._log_group
