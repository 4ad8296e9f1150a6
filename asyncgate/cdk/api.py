"""The API: a REST endpoint whose POST starts the workflow through a direct service integration.

No Lambda sits between API Gateway and Step Functions: an ``AwsIntegration`` calls the States API
with a role that may do one thing, start this one state machine. The client gets its answer as soon
as the execution is durably started (async) or, for Express workflows, once it has finished (sync).

Differences from the seed, each a bug there:

- the seed gave two integration responses without a ``selectionPattern``; API Gateway allows one
  default, so the 500 one could never be selected. Failures are now picked by status code
  (``4\\d{2}``, ``5\\d{2}``), which is what API Gateway matches for AWS integrations;
- the seed declared no 500 method response, so the 500 integration response had nothing to map to;
- the seed's response templates were objects, not template strings.

``passthrough_behavior`` is NEVER: only ``application/json`` has a template, and any other content
type gets 415 instead of reaching the States API unmapped.
"""

from __future__ import annotations

from enum import Enum

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from asyncgate.cdk.nag import acknowledge

__all__ = ["AsyncResponse", "StartMode", "WorkflowApi"]

_JSON = "application/json"
_FAILED = '{"status": "webhook failed"}'


class StartMode(Enum):
    """How the API starts the workflow: the value is the States API action it calls."""

    ASYNC = "StartExecution"
    """Answer once the execution has started (the seed). Works with EXPRESS and STANDARD."""
    SYNC = "StartSyncExecution"
    """Answer with the workflow's output once it has finished: EXPRESS only, and within the
    integration timeout (29 seconds by default)."""

    def check(self, state_machine_type: sfn.StateMachineType) -> None:
        """Raise ``ValueError`` if this mode cannot start a machine of ``state_machine_type``.

        ``StartSyncExecution`` rejects Standard machines at run time; CDK's own
        ``StepFunctionsIntegration`` refuses them at synth time, and so do we.

        Example
        -------
        ```python
        StartMode.SYNC.check(sfn.StateMachineType.STANDARD)  # ValueError
        ```
        """
        if self is StartMode.SYNC and state_machine_type is not sfn.StateMachineType.EXPRESS:
            raise ValueError(
                f"mode=StartMode.SYNC calls StartSyncExecution, which only runs EXPRESS state machines; "
                f"this one is {state_machine_type.name}. Use StartMode.ASYNC or an EXPRESS workflow."
            )


class AsyncResponse(Enum):
    """What the API answers in ``StartMode.ASYNC`` once the execution has started."""

    STATUS = '{"status": "webhook submitted"}'
    """The seed's fixed acknowledgement."""
    EXECUTION_ARN = '{"status": "webhook submitted", "executionArn": "$input.path(\'$.executionArn\')"}'
    """The acknowledgement plus the execution's ARN, so the client can follow it up."""


#: The seed's request template. ``$util.escapeJavaScript`` turns ``'`` into ``\'``, which is not valid
#: JSON, so ``replaceAll`` turns it back: ``\\'`` is the Java regex for a backslash then a quote.
_START_REQUEST = r"""#set($input = $input.json('$'))
{
  "input": "$util.escapeJavaScript($input).replaceAll("\\'", "'")",
  "stateMachineArn": "%s"
}"""

#: CDK's ``StepFunctionsIntegration`` answer to StartSyncExecution: the output, or 500 with the
#: error and cause when the execution FAILED (the States API itself answers 200 either way).
_SYNC_OUTPUT = "\n".join(
    [
        "#set($inputRoot = $input.path('$'))",
        """#if($input.path('$.status').toString().equals("FAILED"))""",
        "#set($context.responseOverride.status = 500)",
        "{",
        """"error": "$input.path('$.error')",""",
        """"cause": "$input.path('$.cause')\"""",
        "}",
        "#else",
        "$input.path('$.output')",
        "#end",
    ]
)


class WorkflowApi(Construct):
    """The seed's ``ApiGatewayConstruct``: ``POST /`` on a REST API starts ``state_machine``.

    The stage has access logs, execution logs (errors and info, no request data) and X-Ray tracing.
    Stage logging needs the account's API Gateway CloudWatch role, so the API sets it
    (``cloud_watch_role=True``); that setting is per account and region.

    Parameters
    ----------
    state_machine:
        The workflow to start. If it is a ``StateMachine`` built in this app, SYNC mode checks it is
        EXPRESS.
    mode:
        ``StartMode.ASYNC`` (StartExecution, the seed) or ``StartMode.SYNC`` (StartSyncExecution).
    async_response:
        The answer in ASYNC mode; SYNC always answers with the workflow's output.
    rest_api_name, description, stage_name:
        As in the seed: "Sample API", "Sample API", ``main``.

    Example
    -------
    ```python
    from asyncgate.cdk import AsyncResponse, WorkflowApi

    api = WorkflowApi(stack, "Api", state_machine=workflow.state_machine,
                      async_response=AsyncResponse.EXECUTION_ARN)
    api.rest_api.url  # https://{id}.execute-api.{region}.amazonaws.com/main/
    ```
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        state_machine: sfn.IStateMachine,
        mode: StartMode = StartMode.ASYNC,
        async_response: AsyncResponse = AsyncResponse.STATUS,
        rest_api_name: str = "Sample API",
        description: str = "Sample API",
        stage_name: str = "main",
    ) -> None:
        if isinstance(state_machine, sfn.StateMachine):
            mode.check(state_machine.state_machine_type)
        if mode is StartMode.SYNC and async_response is not AsyncResponse.STATUS:
            raise ValueError("async_response only applies to StartMode.ASYNC; SYNC answers with the output")
        super().__init__(scope, id)

        access_logs = logs.LogGroup(self, "AccessLogs")
        self._rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=rest_api_name,
            description=description,
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name=stage_name,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigateway.MethodLoggingLevel.INFO,
                tracing_enabled=True,
            ),
        )

        acknowledge(
            self._rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account's API Gateway logging role; this managed policy is the one AWS documents for it.",
        )

        self._role = iam.Role(
            self, "StartExecution", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com")
        )
        iam.Policy(
            self,
            "StartExecutionPolicy",
            roles=[self._role],
            statements=[
                iam.PolicyStatement(
                    effect=iam.Effect.ALLOW,
                    actions=[f"states:{mode.value}"],
                    resources=[state_machine.state_machine_arn],
                )
            ],
        )

        started = _SYNC_OUTPUT if mode is StartMode.SYNC else async_response.value
        integration = apigateway.AwsIntegration(
            service="states",
            action=mode.value,
            integration_http_method="POST",
            options=apigateway.IntegrationOptions(
                credentials_role=self._role,
                passthrough_behavior=apigateway.PassthroughBehavior.NEVER,
                request_templates={_JSON: _START_REQUEST % state_machine.state_machine_arn},
                integration_responses=[
                    apigateway.IntegrationResponse(status_code="200", response_templates={_JSON: started}),
                    *(
                        apigateway.IntegrationResponse(
                            selection_pattern=pattern, status_code="500", response_templates={_JSON: _FAILED}
                        )
                        for pattern in (r"4\d{2}", r"5\d{2}")
                    ),
                ],
            ),
        )
        self._rest_api.root.add_method(
            "POST",
            integration,
            method_responses=[apigateway.MethodResponse(status_code=code) for code in ("200", "500")],
        )

    @property
    def rest_api(self) -> apigateway.RestApi:
        """The REST API."""
        return self._rest_api

    @property
    def role(self) -> iam.Role:
        """The role API Gateway assumes to call the States API."""
        return self._role

    @property
    def url(self) -> str:
        """The stage's URL; POST JSON here."""
        return self._rest_api.url
