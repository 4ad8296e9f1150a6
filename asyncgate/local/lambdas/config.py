"""What a function is (``FunctionConfig``) and what one invocation gave (``InvokeResult``).

Plain frozen data shared by the runtime, the states engine, the gateway and ``api/lambda_api.py``.
``configuration()`` renders a config as Lambda's ``FunctionConfiguration`` JSON, the shape
GetFunction, ListFunctions and CreateFunction answer with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FunctionConfig", "InvokeResult", "configuration"]

DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """One Lambda function as the runtime runs it.

    Example:
        >>> c = FunctionConfig("f", "arn:aws:lambda:us-east-1:000000000000:function:f", "app.handler",
        ...                    "python3.12", Path("/tmp/code"))
        >>> c.timeout_s, c.memory_mb, c.group
        (3.0, 128, '/aws/lambda/f')
    """

    name: str
    """FunctionName (the physical name)."""
    arn: str
    """The function's unqualified ARN."""
    handler: str
    """``module.function``."""
    runtime: str
    """``python3.12``; the worker runs on the server's interpreter whatever this says."""
    code_dir: Path
    """The unpacked code (the asset folder, or a folder made from a ZipFile)."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Timeout; the worker is ended when an invocation runs longer."""
    memory_mb: int = DEFAULT_MEMORY_MB
    """MemorySize: shown in REPORT; a worker whose RSS passes it is killed (Runtime.OutOfMemory)."""
    environment: dict[str, str] = field(default_factory=dict)
    """Environment.Variables."""
    role: str = ""
    """Execution role ARN."""
    log_group: str = ""
    """Log group; empty means ``/aws/lambda/<name>``."""
    description: str = ""
    """Description (API-created functions)."""
    code_sha256: str = ""
    """CodeSha256 (base64 SHA-256 of the zip, or of the folder's files)."""
    code_size: int = 0
    """CodeSize in bytes."""
    last_modified: str = ""
    """LastModified, ``2024-01-01T00:00:00.000+0000``."""

    @property
    def group(self) -> str:
        """The log group invocations write to."""
        return self.log_group or f"/aws/lambda/{self.name}"

    def to_json(self) -> str:
        """Serialize for the store (API-created functions survive restarts)."""
        data = asdict(self)
        data["code_dir"] = str(self.code_dir)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FunctionConfig:
        """The inverse of ``to_json``."""
        data = json.loads(text)
        data["code_dir"] = Path(data["code_dir"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """The outcome of one invocation, as Lambda's Invoke answers it.

    Example:
        >>> InvokeResult(200, b'{"ok": true}', None).function_error is None
        True
    """

    status_code: int
    """200 for RequestResponse, 202 for Event, 204 for DryRun."""
    payload: bytes
    """What the handler returned (JSON, or its bytes as is), or the error document."""
    function_error: str | None
    """None, or ``"Unhandled"`` when the handler raised, timed out, or its worker died."""
    executed_version: str = "$LATEST"
    """X-Amz-Executed-Version."""
    log_tail: str = ""
    """The last 4 KB of the invocation's log (for ``LogType=Tail``)."""
    request_id: str = ""
    """The invocation's request id (x-amzn-RequestId)."""

    @property
    def error_type(self) -> str | None:
        """The ``errorType`` of a failed invocation (``Sandbox.Timedout``, ``Exception``, ...)."""
        if self.function_error is None:
            return None
        try:
            doc = json.loads(self.payload)
        except ValueError:
            return None
        return doc.get("errorType") if isinstance(doc, dict) else None


def configuration(config: FunctionConfig, *, state: str = "Active") -> dict[str, Any]:
    """Lambda's ``FunctionConfiguration`` for a function.

    Example:
        >>> c = FunctionConfig("f", "arn:aws:lambda:us-east-1:000000000000:function:f", "app.handler",
        ...                    "python3.12", Path("/tmp/code"), environment={"A": "1"})
        >>> d = configuration(c)
        >>> d["FunctionName"], d["Timeout"], d["Environment"]
        ('f', 3, {'Variables': {'A': '1'}})
    """
    timeout = int(config.timeout_s) if float(config.timeout_s).is_integer() else config.timeout_s
    return {
        "FunctionName": config.name,
        "FunctionArn": config.arn,
        "Runtime": config.runtime,
        "Role": config.role,
        "Handler": config.handler,
        "CodeSize": config.code_size,
        "Description": config.description,
        "Timeout": timeout,
        "MemorySize": config.memory_mb,
        "LastModified": config.last_modified,
        "CodeSha256": config.code_sha256,
        "Version": "$LATEST",
        "Environment": {"Variables": dict(config.environment)},
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": config.code_sha256 or "0",
        "State": state,
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": config.group},
    }
