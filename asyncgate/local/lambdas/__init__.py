"""The local Lambda runtime: Python handlers in warm worker processes.

CONTRACT (implemented in ``service.py``; consumed by the states engine, the gateway and ``api/``):

    @dataclass(frozen=True, slots=True)
    class FunctionConfig:                              # config.py
        name: str                 # FunctionName (physical)
        arn: str
        handler: str              # "module.function"
        runtime: str              # "python3.12"
        code_dir: Path            # unpacked code (the asset folder, or a folder made from a ZipFile)
        timeout_s: float = 3.0    # Timeout
        memory_mb: int = 128      # MemorySize
        environment: dict[str, str] = {}
        role: str = ""            # execution role ARN
        log_group: str = ""       # default "/aws/lambda/<name>" (property ``group``)
        description: str = ""; code_sha256: str = ""; code_size: int = 0; last_modified: str = ""

    @dataclass(frozen=True, slots=True)
    class InvokeResult:                                # config.py
        status_code: int          # 200 RequestResponse, 202 Event, 204 DryRun
        payload: bytes            # what the handler returned (JSON; bytes as is), or the error document
        function_error: str | None  # None, or "Unhandled" (raised, timed out, worker died, too large)
        executed_version: str = "$LATEST"
        log_tail: str = ""        # last 4 KB of the invocation's log (for LogType=Tail)
        request_id: str = ""      # the invocation's request id
        # property error_type -> "Sandbox.Timedout" / "Runtime.ExitError" / the exception's name / None

    class LambdaService:                               # service.py
        def __init__(self, logs: Logs, *, data_dir: Path, store: Store | None = None,
                     endpoint_url: str | None = None, max_workers_per_function: int = 4,
                     region: str = "us-east-1") -> None
            # with ``store``, functions made by CreateFunction are reloaded here (no start() needed);
            # ``endpoint_url`` becomes AWS_ENDPOINT_URL in workers (boto3 in handlers calls us)
        def register(self, config: FunctionConfig) -> None          # replaces a previous one
        def get(self, name_or_arn: str) -> FunctionConfig            # raises ResourceNotFoundException
        def unregister(self, name_or_arn: str) -> None
        def functions(self) -> list[FunctionConfig]                  # every registered one, by name
        async def invoke(self, name_or_arn: str, payload: bytes, *,
                         invocation_type: str = "RequestResponse",
                         json_body: bool = False) -> InvokeResult       # True: payload is our own JSON
        async def start(self) -> None                                # no-op (loading is in __init__)
        async def close(self) -> None                                # stops every worker
        # Lambda API methods (AWS JSON shapes in and out; used by api/lambda_api.py):
        async def create_function / get_function / get_function_configuration / list_functions /
                  delete_function(self, request: dict) -> dict

Error documents are the Python runtime's: ``{"errorMessage", "errorType", "requestId", "stackTrace"}``
with ``/var/task`` paths (``worker.py``); the platform's own errors (``Sandbox.Timedout``,
``Runtime.ExitError``, ``Function.ResponseSizeTooLarge``) and START/END/REPORT lines are in ``report.py``.
A timeout kills the worker (the next invoke starts a new one); nothing a handler does reaches the server.
"""

from asyncgate.local.lambdas.config import FunctionConfig, InvokeResult, configuration
from asyncgate.local.lambdas.service import LambdaService, function_arn, parse_function_ref

__all__ = [
    "FunctionConfig",
    "InvokeResult",
    "LambdaService",
    "configuration",
    "function_arn",
    "parse_function_ref",
]
