"""The workflow: the state machine the API hands each payload to.

The seed's definition is one ``LambdaInvoke`` (``OutputPath: $.Payload``, so the next state sees the
function's return value rather than the invoke envelope) followed by a ``Pass`` named
``SuccessState``. Logging is on at level ALL with execution data: an Express workflow keeps no history
that ``DescribeExecution`` could show, so its log group is the only record of what ran.

The log group name starts with ``/aws/vendedlogs/`` because Step Functions delivers logs through
CloudWatch vended-log delivery, whose resource policy size limit that prefix avoids.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from asyncgate.cdk.nag import acknowledge, finding_resource

__all__ = ["Workflow"]


class Workflow(Construct):
    """The seed's ``StateMachineStack``: a logged, traced state machine, Express by default.

    Give it either ``handler`` (the seed's definition is built around it) or a ``definition_body`` of
    your own; the logging and tracing set-up is the same for both. With the seed's definition, the
    role's cdk-nag wildcard findings are acknowledged here, as they come from CDK and AWS; with your
    own definition they are yours to review, since they would also cover the grants your states add.

    Parameters
    ----------
    handler:
        The function the default definition invokes.
    definition_body:
        A definition to use instead of the default one (``sfn.DefinitionBody.from_file(...)``,
        ``from_string(...)`` or ``from_chainable(...)``).
    state_machine_type:
        EXPRESS (the seed's choice: cheap, at most 5 minutes) or STANDARD (up to a year, exactly once).
    log_group_name:
        The name of the execution log group.

    Example
    -------
    ```python
    from aws_cdk import Stack, aws_stepfunctions as sfn
    from asyncgate.cdk import ProcessorFunction, Workflow

    stack = Stack()
    processor = ProcessorFunction(stack, "Processor")
    workflow = Workflow(stack, "Workflow", handler=processor.function,
                        state_machine_type=sfn.StateMachineType.STANDARD)
    workflow.state_machine.state_machine_arn
    ```
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        handler: lambda_.IFunction | None = None,
        definition_body: sfn.DefinitionBody | None = None,
        state_machine_type: sfn.StateMachineType = sfn.StateMachineType.EXPRESS,
        log_group_name: str = "/aws/vendedlogs/states/sample",
    ) -> None:
        if (handler is None) == (definition_body is None):
            raise ValueError("Workflow needs exactly one of `handler` or `definition_body`")
        super().__init__(scope, id)
        self._log_group = logs.LogGroup(self, "Logs", log_group_name=log_group_name)
        if handler is not None:
            definition_body = sfn.DefinitionBody.from_chainable(self._invoke(handler))
        self._state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=definition_body,
            state_machine_type=state_machine_type,
            logs=sfn.LogOptions(
                destination=self._log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
            tracing_enabled=True,
        )
        if handler is not None:
            self._acknowledge_grants(handler)

    def _invoke(self, handler: lambda_.IFunction) -> sfn.IChainable:
        """The seed's definition: invoke ``handler``, then pass its result to ``SuccessState``."""
        invoke = tasks.LambdaInvoke(
            self,
            "OneFuncInvoke",
            lambda_function=handler,
            comment="For the demo",
            output_path="$.Payload",
        )
        return invoke.next(sfn.Pass(self, "SuccessState"))

    def _acknowledge_grants(self, handler: lambda_.IFunction) -> None:
        """Acknowledge the wildcards in the role of the seed's definition, which CDK and AWS dictate."""
        role = self._state_machine.role
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Log delivery (logs:CreateLogDelivery and co.) and X-Ray writes take no resource ARN.",
        )
        function_arn = finding_resource(self, handler.function_arn)
        if function_arn is not None:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{function_arn}:*]",
                "LambdaInvoke may call the versions and aliases of this one function, nothing else.",
            )

    @property
    def state_machine(self) -> sfn.StateMachine:
        """The state machine."""
        return self._state_machine

    @property
    def log_group(self) -> logs.LogGroup:
        """The log group that receives every execution's events, input and output included."""
        return self._log_group
