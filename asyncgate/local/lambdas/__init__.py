"""The local Lambda runtime: Python handlers in warm worker processes.

CONTRACT (implemented in ``service.py``; consumed by the states engine, the gateway and ``api/``):

    @dataclass(frozen=True, slots=True)
    class FunctionConfig:
        name: str                 # FunctionName (physical)
        arn: str
        handler: str              # "module.function"
        runtime: str              # "python3.12"
        code_dir: Path            # unpacked code (the asset folder, or a folder made from a ZipFile)
        timeout_s: float          # Timeout (default 3)
        memory_mb: int            # MemorySize (default 128)
        environment: dict[str, str]
        role: str = ""            # execution role ARN
        log_group: str = ""       # default "/aws/lambda/<name>"

    @dataclass(frozen=True, slots=True)
    class InvokeResult:
        status_code: int          # 200 for RequestResponse (202 Event)
        payload: bytes            # JSON bytes the handler returned, or the error document
        function_error: str | None  # None, or "Unhandled" when the handler raised / timed out
        executed_version: str = "$LATEST"
        log_tail: str = ""        # last 4 KB of the invocation's log (for LogType=Tail)

    class LambdaService:
        def __init__(self, logs: Logs, *, data_dir: Path) -> None
        def register(self, config: FunctionConfig) -> None          # replaces a previous one
        def get(self, name_or_arn: str) -> FunctionConfig            # raises ResourceNotFoundException
        def unregister(self, name_or_arn: str) -> None
        async def invoke(self, name_or_arn: str, payload: bytes, *,
                         invocation_type: str = "RequestResponse") -> InvokeResult
        async def close(self) -> None                                # stops every worker
"""
