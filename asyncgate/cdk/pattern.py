"""The pattern in one construct: a REST API that hands each POST to a workflow.

``AsyncWorkflowApi`` wires the three seed constructs together and exposes the choices people make
with this pattern as keyword arguments: the workflow type, async or sync start, what the async answer
carries, and the workflow itself (the seed's function, a function of yours, or a whole definition).
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from asyncgate.cdk.api import AsyncResponse, StartMode, WorkflowApi
from asyncgate.cdk.processor import ProcessorFunction
from asyncgate.cdk.workflow import Workflow

__all__ = ["AsyncWorkflowApi"]


class AsyncWorkflowApi(Construct):
    """API Gateway -> Step Functions hand-off: ``POST /`` starts a workflow and answers at once.

    With no ``handler`` and no ``definition_body`` it builds the seed's system: the ``sample-func``
    processor, an Express workflow that invokes it, and the "Sample API" on stage ``main``.

    Parameters
    ----------
    handler:
        A function of yours for the seed's definition to invoke, instead of the processor.
    definition_body:
        A whole definition of yours instead of the seed's (then no function is created).
    state_machine_type:
        ``sfn.StateMachineType.EXPRESS`` (default) or ``STANDARD``.
    mode:
        ``StartMode.ASYNC`` (default) answers once the execution started; ``StartMode.SYNC`` answers
        with its output (EXPRESS only: SYNC with STANDARD raises ``ValueError``).
    async_response:
        ``AsyncResponse.STATUS`` (the seed's answer) or ``AsyncResponse.EXECUTION_ARN``.
    function_name, log_group_name, rest_api_name, stage_name:
        Physical names; the defaults are the seed's. ``rest_api_name`` is the API's description too.

    Example
    -------
    The seed's system:

    ```python
    from aws_cdk import App, Stack
    from asyncgate.cdk import AsyncWorkflowApi

    app = App()
    stack = Stack(app, "AsyncGateSample")
    AsyncWorkflowApi(stack, "AsyncGate")
    ```

    A Standard workflow of your own whose starts answer with the execution ARN:

    ```python
    from aws_cdk import aws_stepfunctions as sfn
    from asyncgate.cdk import AsyncResponse, AsyncWorkflowApi

    AsyncWorkflowApi(
        stack, "Orders",
        definition_body=sfn.DefinitionBody.from_file("orders.asl.json"),
        state_machine_type=sfn.StateMachineType.STANDARD,
        async_response=AsyncResponse.EXECUTION_ARN,
    )
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
        mode: StartMode = StartMode.ASYNC,
        async_response: AsyncResponse = AsyncResponse.STATUS,
        function_name: str | None = "sample-func",
        log_group_name: str = "/aws/vendedlogs/states/sample",
        rest_api_name: str = "Sample API",
        stage_name: str = "main",
    ) -> None:
        mode.check(state_machine_type)
        if handler is not None and definition_body is not None:
            raise ValueError("pass `handler` or `definition_body`, not both")
        super().__init__(scope, id)
        self._processor: ProcessorFunction | None = None
        if handler is None and definition_body is None:
            self._processor = ProcessorFunction(self, "Processor", function_name=function_name)
            handler = self._processor.function
        self._workflow = Workflow(
            self,
            "Workflow",
            handler=handler,
            definition_body=definition_body,
            state_machine_type=state_machine_type,
            log_group_name=log_group_name,
        )
        self._api = WorkflowApi(
            self,
            "Api",
            state_machine=self._workflow.state_machine,
            mode=mode,
            async_response=async_response,
            rest_api_name=rest_api_name,
            description=rest_api_name,
            stage_name=stage_name,
        )

    @property
    def processor(self) -> ProcessorFunction | None:
        """The seed's processor, or ``None`` when you passed ``handler`` or ``definition_body``."""
        return self._processor

    @property
    def workflow(self) -> Workflow:
        """The workflow: its state machine and log group."""
        return self._workflow

    @property
    def api(self) -> WorkflowApi:
        """The API: its REST API and the role that starts executions."""
        return self._api

    @property
    def url(self) -> str:
        """The stage's URL; POST JSON here."""
        return self._api.url
