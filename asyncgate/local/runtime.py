"""The composition root: one ``Runtime`` wires the services to each other and to an assembly.

Nothing else constructs services. ``Runtime`` reads the resources of a loaded cloud assembly and
registers them with the service that serves each type — log groups, Lambda functions, state
machines, REST APIs — then starts recovery of interrupted work. Resource types it does not serve are
reported once (``unsupported``), never a crash: a user's app may hold anything.

Internals, in order, for ``start()``:
    1. log groups from the template exist (so ``describe-log-groups`` shows them before any run);
    2. Lambda functions are registered (their code is the unpacked asset folder in ``cdk.out``);
    3. state machines are created or updated (their ARNs are stable, so recovered executions match);
    4. REST APIs are compiled into the gateway (routes, templates) once;
    4a. SQS queues, SNS topics, DynamoDB tables, Kinesis streams, event buses and S3 buckets are
        created in the in-process moto (``aws_services``; in memory, so afresh on every start);
    4b. the Express worker process starts, when asked for (``express_worker``);
    5. the Step Functions service re-runs starts that were acknowledged but not finished.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncgate.local.api.json_protocol import JsonProtocol, Service
from asyncgate.local.api.operations import LOGS_OPERATIONS, STATES_OPERATIONS
from asyncgate.local.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from asyncgate.local.assembly import Assembly, Resource, Stack, state_machine_definition
from asyncgate.local.aws_services.bridge import AwsServices
from asyncgate.local.aws_services.integrations import EmulatedIntegrations
from asyncgate.local.aws_services.provision import PROVISIONED_TYPES, provision
from asyncgate.local.express_worker import ExpressWorker
from asyncgate.local.gateway.model import RestApi, build_rest_apis
from asyncgate.local.gateway.pipeline import Gateway
from asyncgate.local.iam import Iam
from asyncgate.local.lambdas import FunctionConfig, LambdaService
from asyncgate.local.logs import COMMIT_DELAY, LOGS_DB, Logs, adopt_logs
from asyncgate.local.service_calls import LOGS, STATES, ServiceCaller
from asyncgate.local.states.clock import Clock, ScaledClock, SystemClock
from asyncgate.local.states.sdk_tasks import ServiceTasks
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store

__all__ = ["ApiEndpoint", "Runtime"]

log = logging.getLogger("asyncgate")

@dataclass(frozen=True, slots=True)
class ApiEndpoint:
    """One deployed REST API stage, as ``GET /_asyncgate/apis`` lists it."""

    rest_api_id: str
    name: str
    stage: str

    def url(self, host: str, port: int) -> str:
        """The stage's invoke URL on this server (the path-style form that needs no DNS)."""
        return f"http://{host}:{port}/restapis/{self.rest_api_id}/{self.stage}/_user_request_/"


class Runtime:
    """Every service of the local runtime, built over one data directory and one assembly."""

    def __init__(
        self,
        assembly: Assembly | None,
        data_dir: Path,
        *,
        time_scale: float = 1.0,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        endpoint_url: str | None = None,
        express_worker: bool = False,
    ) -> None:
        self.assembly = assembly
        self.data_dir = data_dir
        self.region = region
        self.account = account
        data_dir.mkdir(parents=True, exist_ok=True)
        self.clock: Clock = ScaledClock(time_scale) if time_scale != 1.0 else SystemClock()
        self.store = Store(data_dir / "asyncgate.sqlite3")
        #: CloudWatch Logs in a database of their own, which the Express worker writes too
        self.log_store = Store(data_dir / LOGS_DB, commit_delay=COMMIT_DELAY)
        self.logs = Logs(self.log_store)
        adopt_logs(self.log_store, self.store.path)
        self.lambdas = LambdaService(
            self.logs, data_dir=data_dir, store=self.store, endpoint_url=endpoint_url
        )
        stacks = assembly.stacks if assembly else []
        self.iam = Iam.from_stacks(stacks)
        #: SQS, SNS, DynamoDB, Kinesis, EventBridge, S3: one in-process moto (imported on first use)
        self.aws = AwsServices(region=region, account=account)
        self.states = StatesService(
            self.store, self.logs, self.lambdas, clock=self.clock,
            services=ServiceTasks(self.aws, self.iam, region=region, account=account),
        )
        self.protocol = JsonProtocol({
            STATES.prefix: Service(self.states, STATES_OPERATIONS),
            LOGS.prefix: Service(self.logs, LOGS_OPERATIONS),
        })
        self.caller = ServiceCaller(self.protocol, self.iam, {"states": STATES, "logs": LOGS},
                                    emulated=EmulatedIntegrations(self.aws, self.iam))
        #: runs Lambda-only Express executions in a second process (wall clock only: a scaled clock
        #: is the server's own)
        self.express_worker: ExpressWorker | None = None
        if express_worker and time_scale == 1.0:
            self.express_worker = ExpressWorker(self.lambdas, self.store, data_dir=data_dir,
                                                region=region, account=account, endpoint_url=endpoint_url)
            self.states.attach_express_worker(self.express_worker)
        self.apis: list[RestApi] = [api for stack in stacks for api in build_rest_apis(stack)]
        self.gateway = Gateway(
            self.apis, aws=self.caller, lambdas=self.lambdas, logs=self.logs, iam=self.iam
        )
        self.unsupported: dict[str, int] = {
            type_: n for type_, n in (assembly.unsupported if assembly else {}).items()
            if type_ not in PROVISIONED_TYPES
        }

    @property
    def endpoints(self) -> list[ApiEndpoint]:
        """One row per deployed REST API stage."""
        return [
            ApiEndpoint(api.id, api.name, stage.name)
            for api in self.apis
            for stage in api.stages
        ]

    async def start(self) -> None:
        """Register the assembly's resources with their services, then recover interrupted work."""
        for stack in self.assembly.stacks if self.assembly else []:
            self._register_log_groups(stack)
            self._register_functions(stack)
            for machine in stack.of_type("AWS::StepFunctions::StateMachine"):
                await self.states.deploy_state_machine(_state_machine_request(machine))
        if self.assembly:
            await provision(self.aws, self.assembly.stacks)
        if self.express_worker is not None:
            await self.express_worker.start()
        await self.states.start()
        for type_, count in sorted(self.unsupported.items()):
            log.warning("not served locally: %s (%d in the template)", type_, count)

    async def close(self) -> None:
        """Stop executions and workers, then flush and close the store."""
        await self.states.close()
        if self.express_worker is not None:
            await self.express_worker.close()
        self.aws.close()
        await self.lambdas.close()
        await self.log_store.barrier()
        self.log_store.close()
        await self.store.barrier()
        self.store.close()

    def _register_log_groups(self, stack: Stack) -> None:
        for group in stack.of_type("AWS::Logs::LogGroup"):
            self.logs.ensure_group(group.physical_id)

    def _register_functions(self, stack: Stack) -> None:
        for fn in stack.of_type("AWS::Lambda::Function"):
            config = _function_config(fn, stack, self.data_dir / "inline")
            if config is not None:
                self.lambdas.register(config)


def _function_config(fn: Resource, stack: Stack, inline_root: Path) -> FunctionConfig | None:
    """A Lambda function's configuration from its template properties, or None if not runnable."""
    props = fn.properties
    runtime = str(props.get("Runtime", ""))
    if not runtime.startswith("python"):
        log.warning("function %s: runtime %r is not served locally (Python only)", fn.physical_id, runtime)
        return None
    code = props.get("Code") or {}
    if "ZipFile" in code:
        code_dir = inline_root / fn.physical_id
        code_dir.mkdir(parents=True, exist_ok=True)
        module = str(props.get("Handler", "index.handler")).rsplit(".", 1)[0]
        (code_dir / f"{module}.py").write_text(str(code["ZipFile"]))
    else:
        key = str(code.get("S3Key", ""))
        asset = stack.assets.get(key.removesuffix(".zip"))
        if asset is None:
            log.warning("function %s: code asset %r not found in the assembly", fn.physical_id, key)
            return None
        code_dir = asset
    logging_config = props.get("LoggingConfig") or {}
    return FunctionConfig(
        name=fn.physical_id,
        arn=str(fn.attributes.get("Arn", "")),
        handler=str(props.get("Handler", "index.handler")),
        runtime=runtime,
        code_dir=code_dir,
        timeout_s=float(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
        environment={k: str(v) for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()},
        role=str(props.get("Role", "")),
        log_group=str(logging_config.get("LogGroup") or f"/aws/lambda/{fn.physical_id}"),
    )


def _state_machine_request(machine: Resource) -> dict[str, Any]:
    """CreateStateMachine's request from an ``AWS::StepFunctions::StateMachine``'s properties."""
    props = machine.properties
    request: dict[str, Any] = {
        "name": str(machine.attributes.get("Name") or machine.physical_id.rsplit(":", 1)[-1]),
        "definition": state_machine_definition(machine),
        "roleArn": str(props.get("RoleArn", "")),
        "type": str(props.get("StateMachineType", "STANDARD")),
    }
    cfn_logging = props.get("LoggingConfiguration")
    if cfn_logging:
        request["loggingConfiguration"] = {
            "level": cfn_logging.get("Level", "OFF"),
            "includeExecutionData": bool(cfn_logging.get("IncludeExecutionData", False)),
            "destinations": [
                {"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                for d in cfn_logging.get("Destinations") or []
                if "CloudWatchLogsLogGroup" in d
            ],
        }
    return request
