"""Lambda's REST API on the wire: ``lambda_api.routes`` served by uvicorn, driven by boto3's lambda client."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError
from starlette.applications import Starlette

from asyncgate.local.api.lambda_api import routes
from asyncgate.local.lambdas import LambdaService
from asyncgate.local.logs import Logs
from asyncgate.local.store import Store

HANDLER = """\
import os


def handler(event, context):
    print("got", event)
    if event.get("fail"):
        raise ValueError("bad " + event["fail"])
    return {"echo": event, "env": os.environ.get("GREETING")}
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("lambda-api")
    store = Store(data_dir / "db.sqlite", synchronous="OFF")
    service = LambdaService(Logs(store), data_dir=data_dir, store=store)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await service.close()

    app = Starlette(routes=routes(service), lifespan=lifespan)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


@pytest.fixture(scope="module")
def client(endpoint: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}),
    )


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    error, meta = response["Error"], response["ResponseMetadata"]
    return error["Code"], error["Message"], meta["HTTPStatusCode"]


def test_create_invoke_get_list_delete(client: Any) -> None:
    created = client.create_function(
        FunctionName="echo",
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="handler.handler",
        Code={"ZipFile": _zip({"handler.py": HANDLER})},
        Environment={"Variables": {"GREETING": "hi"}},
        Timeout=5,
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:echo"
    assert (created["Handler"], created["Timeout"], created["MemorySize"]) == ("handler.handler", 5, 128)
    assert created["State"] == "Active"

    answer = client.invoke(FunctionName="echo", Payload=json.dumps({"a": 1}), LogType="Tail")
    assert answer["StatusCode"] == 200
    assert answer["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"echo": {"a": 1}, "env": "hi"}
    tail = base64.b64decode(answer["LogResult"]).decode()
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in tail
    assert "got {'a': 1}" in tail
    assert f"END RequestId: {request_id}" in tail
    assert f"REPORT RequestId: {request_id}\tDuration: " in tail

    failed = client.invoke(FunctionName="arn:aws:lambda:us-east-1:000000000000:function:echo",
                           Payload=b'{"fail": "input"}')
    assert failed["StatusCode"] == 200
    assert failed["FunctionError"] == "Unhandled"
    doc = json.loads(failed["Payload"].read())
    assert (doc["errorType"], doc["errorMessage"]) == ("ValueError", "bad input")
    assert doc["stackTrace"][0].startswith('  File "/var/task/handler.py", line 7, in handler\n')

    event = client.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202
    dry = client.invoke(FunctionName="echo", InvocationType="DryRun")
    assert dry["StatusCode"] == 204

    got = client.get_function(FunctionName="echo")
    assert got["Configuration"]["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert got["Configuration"]["CodeSha256"] == created["CodeSha256"]
    assert client.get_function_configuration(FunctionName="echo")["FunctionName"] == "echo"
    assert "echo" in [f["FunctionName"] for f in client.list_functions()["Functions"]]

    with pytest.raises(ClientError) as exc:
        client.create_function(FunctionName="echo", Runtime="python3.12", Role="arn:aws:iam::0:role/r",
                               Handler="handler.handler", Code={"ZipFile": _zip({"handler.py": HANDLER})})
    assert _error(exc) == ("ResourceConflictException", "Function already exist: echo", 409)

    assert client.delete_function(FunctionName="echo")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName="echo")
    assert _error(exc) == (
        "ResourceNotFoundException",
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:echo",
        404,
    )


def test_errors_in_lambdas_wire_shape(client: Any, tmp_path: Path) -> None:
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName="absent", Payload=b"{}")
    assert _error(exc)[0::2] == ("ResourceNotFoundException", 404)

    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "app.py").write_text("def handler(event, context):\n    return event\n")
    client.create_function(FunctionName="local", Runtime="python3.12", Role="arn:aws:iam::0:role/r",
                           Handler="app.handler", Code={"S3Bucket": "hot-reload", "S3Key": str(folder)})
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName="local", Payload=b"{not json")
    code, message, status = _error(exc)
    assert (code, status) == ("InvalidRequestContentException", 400)
    assert message.startswith("Could not parse request body into json")

    with pytest.raises(ClientError) as exc:
        client.create_function(FunctionName="reserved", Runtime="python3.12", Role="arn:aws:iam::0:role/r",
                               Handler="app.handler", Code={"ZipFile": _zip({"app.py": ""})},
                               Environment={"Variables": {"AWS_REGION": "eu-west-1"}})
    code, message, status = _error(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.endswith("Reserved keys used in this request: AWS_REGION")

    with pytest.raises(ClientError) as exc:
        client.create_function(FunctionName="badzip", Runtime="python3.12", Role="arn:aws:iam::0:role/r",
                               Handler="app.handler", Code={"ZipFile": b"not a zip"})
    assert _error(exc)[0] == "InvalidParameterValueException"

    answer = client.invoke(FunctionName="local", Payload=b'{"x": 1}')
    assert json.loads(answer["Payload"].read()) == {"x": 1}
    client.delete_function(FunctionName="local")
    assert (folder / "app.py").exists()


def test_update_code_and_configuration(client: Any) -> None:
    client.create_function(FunctionName="updated", Runtime="python3.12", Role="arn:aws:iam::0:role/r",
                           Handler="app.handler",
                           Code={"ZipFile": _zip({"app.py": "def handler(e, c):\n    return 'v1'\n"})})
    assert client.invoke(FunctionName="updated")["Payload"].read() == b'"v1"'

    answer = client.update_function_code(
        FunctionName="updated", ZipFile=_zip({"app.py": "def handler(e, c):\n    return 'v2'\n"})
    )
    assert answer["LastUpdateStatus"] == "Successful"
    assert client.invoke(FunctionName="updated")["Payload"].read() == b'"v2"'

    answer = client.update_function_configuration(
        FunctionName="updated", Timeout=1, Environment={"Variables": {"MODE": "x"}}
    )
    assert (answer["Timeout"], answer["Environment"]) == (1, {"Variables": {"MODE": "x"}})
    assert answer["Handler"] == "app.handler"
    with pytest.raises(ClientError) as exc:
        client.update_function_configuration(FunctionName="updated", Timeout=901)
    code, message, status = _error(exc)
    assert (code, status) == ("ValidationException", 400)
    assert message.endswith(
        "at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"
    )
    client.delete_function(FunctionName="updated")
