"""The Lambda service: which functions exist, and invoking them on warm worker pools.

Two kinds of functions share one registry:

- **template functions**, registered by the runtime from the cloud assembly with ``register()``; they
  are rebuilt from the template at every start and never persisted;
- **API functions**, made with CreateFunction (``create_function``); their config is persisted in the
  store (table ``lambda_functions``) and their code under ``<data_dir>/lambda/``, and the constructor
  registers them again, so they survive a restart. A template function of the same name wins.

Each function gets a ``Pool`` of warm worker processes on its first invoke (see ``pool.py``).

Example:
    >>> import asyncio, tempfile
    >>> from pathlib import Path
    >>> class Sink:
    ...     def put(self, group, stream, events): pass
    >>> code = Path(tempfile.mkdtemp()); _ = (code / "app.py").write_text(
    ...     "def handler(event, context):\\n    return {'hi': event['name']}\\n")
    >>> async def main():
    ...     service = LambdaService(Sink(), data_dir=Path(tempfile.mkdtemp()))
    ...     service.register(FunctionConfig("f", function_arn("f"), "app.handler", "python3.12", code))
    ...     try:
    ...         return await service.invoke("f", b'{"name": "x"}')
    ...     finally:
    ...         await service.close()
    >>> asyncio.run(main()).payload
    b'{"hi": "x"}'
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

from asyncgate.local.arns import DEFAULT_REGION
from asyncgate.local.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from asyncgate.local.ids import random_uuid
from asyncgate.local.lambdas.code import remove_code, unpack_code
from asyncgate.local.lambdas.config import FunctionConfig, InvokeResult, configuration
from asyncgate.local.lambdas.parameters import (
    function_arn,
    last_modified,
    new_function_name,
    parse_function_ref,
    settings,
)
from asyncgate.local.lambdas.pool import LogSink, Pool
from asyncgate.local.metrics import METRICS
from asyncgate.local.store import Store

__all__ = ["LambdaService", "function_arn", "parse_function_ref"]  # the last two: from parameters.py

log = logging.getLogger("asyncgate.lambda")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lambda_functions (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL
);
"""

MAX_SYNC_PAYLOAD = 6_291_456
MAX_ASYNC_PAYLOAD = 262_144
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
#: What a worker gets besides its function's variables: enough to run Python, as Lambda's image has.
BASE_ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
}


class LambdaService:
    """Registered functions and their warm worker pools.

    ``logs`` receives every invocation's log events (``asyncgate.local.logs.Logs``). ``store``, when
    given, persists API-created functions (the server always gives it). ``endpoint_url``, when given,
    is set as ``AWS_ENDPOINT_URL`` in workers, so boto3 in a handler calls this server.
    """

    def __init__(
        self,
        logs: LogSink,
        *,
        data_dir: Path,
        store: Store | None = None,
        endpoint_url: str | None = None,
        max_workers_per_function: int = 4,
        region: str = DEFAULT_REGION,
    ) -> None:
        self.logs = logs
        self.data_dir = data_dir
        self.store = store
        self.endpoint_url = endpoint_url
        self.max_workers = max_workers_per_function
        self.region = region
        self._functions: dict[str, FunctionConfig] = {}
        self._persisted: set[str] = set()
        self._pools: dict[str, Pool] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._retiring: set[asyncio.Task[None]] = set()
        self._closed = False
        if store is not None:
            store.migrate(_SCHEMA)
            rows = store.read(lambda db: db.execute("SELECT name, config FROM lambda_functions").fetchall())
            for name, text in rows:
                self._functions[name] = FunctionConfig.from_json(text)
                self._persisted.add(name)

    # -- registry (contract) -------------------------------------------------------------------------
    def register(self, config: FunctionConfig) -> None:
        """Add a function (a template's), replacing one of the same name and ending its warm workers."""
        self._functions[config.name] = config
        self._persisted.discard(config.name)
        self._retire_pool(config.name)

    def get(self, name_or_arn: str) -> FunctionConfig:
        """The function named by a name, ``name:$LATEST``, or a partial or full ARN (any account).

        Raises ResourceNotFoundException as Lambda does."""
        name, qualifier = parse_function_ref(name_or_arn)
        config = self._functions.get(name)
        if config is None or qualifier not in (None, "$LATEST"):
            missing = function_arn(name) + (f":{qualifier}" if qualifier else "")
            raise ResourceNotFoundException(f"Function not found: {missing}")
        return config

    def unregister(self, name_or_arn: str) -> None:
        """Remove a function (no error if absent) and end its workers; persisted records stay."""
        name, _ = parse_function_ref(name_or_arn)
        self._functions.pop(name, None)
        self._retire_pool(name)

    def functions(self) -> list[FunctionConfig]:
        """Every registered function, by name."""
        return [self._functions[name] for name in sorted(self._functions)]

    def _retire_pool(self, name: str) -> None:
        pool = self._pools.pop(name, None)
        if pool is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop, so no worker was ever started
        task = loop.create_task(pool.close())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None and not self._closed:
            log.warning("background Lambda work failed", exc_info=task.exception())

    # -- workers --------------------------------------------------------------------------------------
    def environment(self, config: FunctionConfig, stream: str) -> dict[str, str]:
        """A worker's whole environment: a minimum to run Python, the function's variables, then Lambda's."""
        env = dict(BASE_ENVIRONMENT)
        env.update({str(k): str(v) for k, v in config.environment.items()})
        env.update(
            {
                "_HANDLER": config.handler,
                "LAMBDA_TASK_ROOT": str(config.code_dir),
                "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": config.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_LOG_GROUP_NAME": config.group,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_SESSION_TOKEN": "test",
            }
        )
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    def pool(self, name_or_arn: str) -> Pool:
        """The warm pool of a function (made on first use)."""
        return self._pool(self.get(name_or_arn))

    def _pool(self, config: FunctionConfig) -> Pool:
        pool = self._pools.get(config.name)
        if pool is None or pool.config is not config:
            if pool is not None:
                self._retire_pool(config.name)
            pool = Pool(
                config,
                self.logs,
                lambda stream: self.environment(config, stream),
                max_workers=self.max_workers,
                flush=getattr(self.logs, "barrier", None),
            )
            self._pools[config.name] = pool
        return pool

    # -- invoke (contract) ---------------------------------------------------------------------------
    async def invoke(
        self, name_or_arn: str, payload: bytes, *, invocation_type: str = "RequestResponse",
        json_body: bool = False,
    ) -> InvokeResult:
        """Invoke a function as Lambda's Invoke does.

        RequestResponse waits and answers 200 with the handler's result or error document; Event
        answers 202 at once and runs it in the background (errors go to its logs only); DryRun
        answers 204. Raises ResourceNotFoundException, InvalidRequestContentException,
        RequestTooLargeException, InvalidParameterValueException. ``json_body``: the caller wrote
        ``payload`` with a JSON encoder (a Task's input), so it is not parsed again to be checked.
        """
        if self._closed:
            raise RuntimeError("LambdaService is closed")
        config = self.get(name_or_arn)
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to "
                "satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            operation = "InvokeAsync" if invocation_type == "Event" else "InvokeFunction"
            raise RequestTooLargeException(
                f"Request must be smaller than {limit} bytes for the {operation} operation"
            )
        if not payload.strip():
            payload = b"{}"
        elif not json_body:
            try:
                json.loads(payload)
            except ValueError as exc:
                raise InvalidRequestContentException(
                    f"Could not parse request body into json: Could not parse payload into json: {exc}"
                ) from None
        request_id = random_uuid()
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", None, request_id=request_id)
        METRICS.lambda_invocations.inc()
        pool = self._pool(config)
        invoked = name_or_arn if name_or_arn.startswith("arn:") else config.arn
        if invocation_type == "Event":
            task = asyncio.get_running_loop().create_task(
                pool.invoke(request_id, payload, invoked_arn=invoked)
            )
            self._track(task)
            return InvokeResult(202, b"", None, request_id=request_id)
        return await pool.invoke(request_id, payload, invoked_arn=invoked)

    # -- API methods ---------------------------------------------------------------------------------
    async def create_function(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateFunction: validate, unpack the code, persist, register; answers FunctionConfiguration."""
        name = new_function_name(request)
        if name in self._functions:
            raise ResourceConflictException(f"Function already exist: {name}")
        fields = settings(request, create=True)
        code = request.get("Code")
        if not isinstance(code, dict):
            raise InvalidParameterValueException("Please provide a source for function code.")
        unpacked = await asyncio.to_thread(unpack_code, code, name=name, data_dir=self.data_dir)
        if name in self._functions:  # created meanwhile by a concurrent request
            raise ResourceConflictException(f"Function already exist: {name}")
        config = FunctionConfig(
            name=name,
            arn=function_arn(name),
            code_dir=unpacked.code_dir,
            code_sha256=unpacked.sha256,
            code_size=unpacked.size,
            last_modified=last_modified(),
            **fields,
        )
        self._persisted.add(name)
        await self._save(config)
        return configuration(config)

    async def update_function_code(self, request: dict[str, Any]) -> dict[str, Any]:
        """UpdateFunctionCode (``ZipFile``, or the local ``S3Bucket``/``S3Key`` folder); warm workers end,
        the next invoke runs the new code."""
        config = self.get(str(request.get("FunctionName", "")))
        code: dict[str, Any] = {
            k: request[k] for k in ("ZipFile", "S3Bucket", "S3Key", "ImageUri") if k in request
        }
        unpacked = await asyncio.to_thread(unpack_code, code, name=config.name, data_dir=self.data_dir)
        updated = dataclasses.replace(
            config,
            code_dir=unpacked.code_dir,
            code_sha256=unpacked.sha256,
            code_size=unpacked.size,
            last_modified=last_modified(),
        )
        await self._save(updated)
        return configuration(updated)

    async def update_function_configuration(self, request: dict[str, Any]) -> dict[str, Any]:
        """UpdateFunctionConfiguration (Handler, Runtime, Timeout, MemorySize, Environment, Role,
        Description, LoggingConfig); warm workers end, the next invoke uses the new settings."""
        config = self.get(str(request.get("FunctionName", "")))
        updated = dataclasses.replace(
            config, last_modified=last_modified(), **settings(request, create=False)
        )
        await self._save(updated)
        return configuration(updated)

    async def _save(self, config: FunctionConfig) -> None:
        """Make ``config`` current (ending the old one's workers) and persist it if API-made."""
        self._functions[config.name] = config
        self._retire_pool(config.name)
        if self.store is not None and config.name in self._persisted:
            name, text = config.name, config.to_json()
            await self.store.write(
                lambda db: db.execute(
                    "INSERT OR REPLACE INTO lambda_functions (name, config) VALUES (?, ?)", (name, text)
                )
            )

    async def get_function(self, request: dict[str, Any]) -> dict[str, Any]:
        """GetFunction: ``{"Configuration", "Code"}``."""
        config = self.get(str(request.get("FunctionName", "")))
        return {
            "Configuration": configuration(config),
            "Code": {"RepositoryType": "S3", "Location": config.code_dir.as_uri()},
            "Tags": {},
        }

    async def get_function_configuration(self, request: dict[str, Any]) -> dict[str, Any]:
        """GetFunctionConfiguration."""
        return configuration(self.get(str(request.get("FunctionName", ""))))

    async def list_functions(self, request: dict[str, Any]) -> dict[str, Any]:
        """ListFunctions, paged by ``Marker`` (the last name of the previous page) and ``MaxItems``."""
        max_items = request.get("MaxItems") or 50
        marker = request.get("Marker") or ""
        names = [n for n in sorted(self._functions) if n > marker]
        page = names[: int(max_items)]
        answer: dict[str, Any] = {"Functions": [configuration(self._functions[n]) for n in page]}
        if len(names) > len(page):
            answer["NextMarker"] = page[-1]
        return answer

    async def delete_function(self, request: dict[str, Any]) -> dict[str, Any]:
        """DeleteFunction: ends the workers, forgets the record, and removes unpacked code."""
        config = self.get(str(request.get("FunctionName", "")))
        self.unregister(config.name)
        if config.name in self._persisted:
            self._persisted.discard(config.name)
            if self.store is not None:
                await self.store.write(
                    lambda db: db.execute("DELETE FROM lambda_functions WHERE name = ?", (config.name,))
                )
            await asyncio.to_thread(remove_code, config.code_dir, self.data_dir)
        return {}

    # -- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Nothing left to do: API-created functions were reloaded by the constructor, and workers
        start on the first invoke (as Lambda's on-demand environments). Kept so the runtime can start
        every service alike."""

    async def close(self) -> None:
        """Stop every worker and background invocation."""
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*(p.close() for p in pools), return_exceptions=True)
        await asyncio.gather(*self._background, *self._retiring, return_exceptions=True)
