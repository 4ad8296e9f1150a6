"""The local Lambda runtime against real worker processes.

Each test writes its handlers to ``tmp_path`` and invokes them through ``LambdaService``; error documents
are compared with AWS's recordings in ``shared/conformance/asl/cases.jsonl``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.errors import (
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceNotFoundException,
)
from asyncgate.local.lambdas import LambdaService

from .conftest import Runtime, config

CASES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "asl" / "cases.jsonl"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# The corpus's one-file handlers, laid out as its README says (raise on line 2, and on line 9).
RAISE_EXCEPTION = 'def handler(event, context):\n    raise Exception("Some exception was raised.")\n'
RAISE_CUSTOM_EXCEPTION = """\
class CustomException(Exception):
    message: str

    def __init__(self):
        self.message = "CustomException message"


def handler(event, context):
    raise CustomException()
"""


def _recorded_cause(case_id: str) -> Any:
    for line in CASES.read_text().splitlines():
        case = json.loads(line)
        if case["id"] == case_id:
            expected = case["expected"]
            return expected.get("cause") or expected["output"]["Cause"]
    raise LookupError(case_id)


def _doc(payload: bytes) -> dict[str, Any]:
    doc = json.loads(payload)
    assert isinstance(doc, dict)
    return doc


def test_invoke_returns_the_handler_value(runtime: Runtime) -> None:
    code = runtime.code({"app.py": """
        def handler(event, context):
            return {"echo": event, "n": 1.5, "text": "héllo"}
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("echo", "app.handler", code))
        result = await service.invoke("echo", b'{"a": [1, 2]}')
        assert result.status_code == 200
        assert result.function_error is None
        # The Python runtime answers json.dumps with its default separators (python3.12: not ASCII-escaped).
        assert result.payload == '{"echo": {"a": [1, 2]}, "n": 1.5, "text": "héllo"}'.encode()
        assert UUID.fullmatch(result.request_id)
        # by full ARN of another account, and with the $LATEST qualifier
        other = "arn:aws:lambda:us-east-1:111111111111:function:echo:$LATEST"
        assert (await service.invoke(other, b"{}")).payload.startswith(b'{"echo": {}')

    runtime.run(scenario)


def test_exception_matches_the_recorded_cause(runtime: Runtime) -> None:
    code = runtime.code({"handler.py": RAISE_EXCEPTION})
    recorded = _recorded_cause("error_handling_test_task_lambda_TestTaskLambda_test_no_such_function")
    spaced = _recorded_cause("error_handling_test_task_lambda_TestTaskLambda_test_raise_exception_catch")

    async def scenario(service: LambdaService) -> None:
        service.register(config("raise_exception_0", "handler.handler", code))
        result = await service.invoke("raise_exception_0", b"{}")
        assert result.function_error == "Unhandled"
        assert result.error_type == "Exception"
        doc = _doc(result.payload)
        assert doc["requestId"] == result.request_id
        assert doc == {**recorded, "requestId": result.request_id}
        # byte for byte, as the Lambda-ARN task passes the payload through as its cause
        assert result.payload.decode() == spaced.replace("<uuid:1>", result.request_id)

    runtime.run(scenario)


def test_custom_exception_without_args_has_an_empty_message(runtime: Runtime) -> None:
    code = runtime.code({"handler.py": RAISE_CUSTOM_EXCEPTION})
    recorded = json.loads(
        _recorded_cause("error_handling_test_task_service_lambda_TestTaskServiceLambda_test_raise_custom_exception")
    )

    async def scenario(service: LambdaService) -> None:
        service.register(config("raise_custom_exception_0", "handler.handler", code))
        result = await service.invoke("raise_custom_exception_0", b"{}")
        assert _doc(result.payload) == {**recorded, "requestId": result.request_id}
        assert recorded["errorMessage"] == ""

    runtime.run(scenario)


def test_bytes_are_returned_as_is_and_large_responses_fail(runtime: Runtime) -> None:
    code = runtime.code({"app.py": """
        def bytes_str(event, context):
            return b'"HelloWorld!"'

        def large(event, context):
            return ("a" * (6 * 1024 * 1024 + 200)).encode("utf-8")

        def not_json(event, context):
            return {1, 2}
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("return_bytes_str_0", "app.bytes_str", code))
        service.register(config("large", "app.large", code))
        service.register(config("set", "app.not_json", code))
        result = await service.invoke("return_bytes_str_0", b"{}")
        assert (result.payload, result.function_error) == (b'"HelloWorld!"', None)

        result = await service.invoke("large", b"{}")
        assert result.function_error == "Unhandled"
        size = 6 * 1024 * 1024 + 200
        assert _doc(result.payload) == {
            "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
            "(6291556 bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
        result = await service.invoke("set", b"{}")
        doc = _doc(result.payload)
        assert doc["errorType"] == "Runtime.MarshalError"
        assert doc["errorMessage"] == (
            "Unable to marshal response: Object of type set is not JSON serializable"
        )

    runtime.run(scenario)


def test_timeout_ends_the_worker_and_the_next_invoke_works(runtime: Runtime) -> None:
    code = runtime.code({"app.py": """
        import os, time

        def handler(event, context):
            print("sleeping", os.getpid())
            time.sleep(event["sleep"])
            return os.getpid()
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("slow", "app.handler", code, timeout_s=0.5))
        first = await service.invoke("slow", b'{"sleep": 0}')
        pid = json.loads(first.payload)

        started = time.monotonic()
        result = await service.invoke("slow", b'{"sleep": 30}')
        assert time.monotonic() - started < 3
        assert result.status_code == 200 and result.function_error == "Unhandled"
        assert _doc(result.payload) == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 0.50 seconds",
        }
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the worker is gone (and reaped)

        after = await service.invoke("slow", b'{"sleep": 0}')
        assert after.function_error is None
        assert json.loads(after.payload) != pid
        assert service.pool("slow").size == 1

        messages = [m for _, m in await runtime.log_messages("/aws/lambda/slow")]
        assert f"sleeping {pid}" in messages
        timed_out = [m for m in messages if m.endswith("Task timed out after 0.50 seconds")]
        assert len(timed_out) == 1 and result.request_id in timed_out[0]
        assert any(m.startswith(f"REPORT RequestId: {result.request_id}") and "Status: timeout" in m
                   for m in messages)

    runtime.run(scenario)


def test_a_worker_that_exits_gives_runtime_exit_error(runtime: Runtime) -> None:
    code = runtime.code({"app.py": """
        import os, sys

        def handler(event, context):
            print("leaving")
            if event.get("how") == "exit":
                sys.exit(2)
            os._exit(3)
    """, "ok.py": "def handler(event, context):\n    return 'fine'\n"})

    async def scenario(service: LambdaService) -> None:
        service.register(config("dies", "app.handler", code))
        result = await service.invoke("dies", b"{}")
        assert result.function_error == "Unhandled"
        assert _doc(result.payload) == {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 3",
        }
        result = await service.invoke("dies", b'{"how": "exit"}')
        assert _doc(result.payload)["errorMessage"].endswith("exit status 2")
        assert "leaving" in result.log_tail
        assert result.log_tail.rstrip("\n").endswith("Runtime.ExitError")
        assert service.pool("dies").size == 0

    runtime.run(scenario)


def test_workers_see_only_their_template_environment(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCGATE_SERVER_SECRET", "do-not-leak")
    code = runtime.code({"app.py": """
        import os, sys

        def handler(event, context):
            return {"env": dict(os.environ), "path0": sys.path[0], "cwd": os.getcwd(),
                    "modules": sorted(m for m in sys.modules if m.startswith(("asyncgate", "starlette")))}
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("env", "app.handler", code, environment={"TABLE": "t1"}, memory_mb=256))
        result = _doc((await service.invoke("env", b"{}")).payload)
        env = result["env"]
        assert "ASYNCGATE_SERVER_SECRET" not in env
        assert env["TABLE"] == "t1"
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == "env"
        assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
        assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
        assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/env"
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
        assert env["_HANDLER"] == "app.handler"
        assert env["LAMBDA_TASK_ROOT"] == str(code)
        assert result["path0"] == str(code) and result["cwd"] == str(code)
        assert result["modules"] == []  # the bootstrap imports nothing of the server
        assert not (code / "__pycache__").exists()  # /var/task is read-only in Lambda
        allowed = {"PATH", "LANG", "TZ", "LC_CTYPE", "TABLE", "_HANDLER", "LAMBDA_TASK_ROOT"}
        allowed.add("LAMBDA_RUNTIME_DIR")
        assert {k for k in env if not k.startswith("AWS_")} <= allowed

    runtime.run(scenario)


def test_context_object(runtime: Runtime) -> None:
    code = runtime.code({"app.py": """
        def handler(event, context):
            return {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
            }
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("ctx", "app.handler", code, timeout_s=7))
        result = await service.invoke("ctx", b"{}")
        ctx = _doc(result.payload)
        assert ctx["function_name"] == "ctx"
        assert ctx["function_version"] == "$LATEST"
        assert ctx["invoked_function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:ctx"
        assert ctx["memory_limit_in_mb"] == "128"
        assert ctx["aws_request_id"] == result.request_id
        assert ctx["log_group_name"] == "/aws/lambda/ctx"
        assert ctx["log_stream_name"].startswith(time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()))
        assert 6000 < ctx["remaining"] <= 7000

    runtime.run(scenario)


def test_parallel_invokes_run_on_up_to_pool_size_workers(runtime: Runtime) -> None:
    code = runtime.code({"app.py": """
        import os, time

        def handler(event, context):
            time.sleep(0.6)
            return os.getpid()
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("par", "app.handler", code))
        started = time.monotonic()
        results = await asyncio.gather(*(service.invoke("par", b"{}") for _ in range(4)))
        first_round = time.monotonic() - started
        assert first_round < 1.8, first_round  # 4 x 0.6 s in parallel, not 2.4 s in a row
        pids = {json.loads(r.payload) for r in results}
        assert len(pids) == 4

        started = time.monotonic()
        results = await asyncio.gather(*(service.invoke("par", b"{}") for _ in range(8)))
        assert 1.2 <= time.monotonic() - started < 3.0  # two rounds on the 4 warm workers
        assert {json.loads(r.payload) for r in results} == pids  # reused, none started
        pool = service.pool("par")
        assert (pool.size, pool.idle) == (4, 4)

    runtime.run(scenario, max_workers_per_function=4)


def test_start_end_report_lines_land_in_the_log_store(runtime: Runtime) -> None:
    code = runtime.code({"app.py": """
        import logging
        print("cold start")

        def handler(event, context):
            print("handling", event["n"])
            logging.getLogger().warning("careful")
            return "ok"
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("logged", "app.handler", code, memory_mb=512))
        ids = [(await service.invoke("logged", json.dumps({"n": n}).encode())).request_id for n in range(2)]
        entries = await runtime.log_messages("/aws/lambda/logged")
        streams = {s for s, _ in entries}
        assert len(streams) == 1  # one warm worker, one stream
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", streams.pop())
        messages = [m for _, m in entries]
        assert messages[0].startswith("INIT_START Runtime Version: python:3.12")
        assert messages[1] == "cold start"
        assert messages[2] == f"START RequestId: {ids[0]} Version: $LATEST"
        assert messages[3] == "handling 0"
        assert re.fullmatch(rf"\[WARNING\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{ids[0]}\tcareful",
                            messages[4])
        assert messages[5] == f"END RequestId: {ids[0]}"
        report = messages[6].split("\t")
        assert report[0] == f"REPORT RequestId: {ids[0]}"
        assert re.fullmatch(r"Duration: \d+\.\d\d ms", report[1])
        assert re.fullmatch(r"Billed Duration: \d+ ms", report[2])
        assert report[3] == "Memory Size: 512 MB"
        assert re.fullmatch(r"Max Memory Used: \d+ MB", report[4])
        assert re.fullmatch(r"Init Duration: \d+\.\d\d ms", report[5])  # cold start only
        assert report[-1] == ""
        assert messages[7] == f"START RequestId: {ids[1]} Version: $LATEST"
        assert not any("Init Duration" in m for m in messages[8:])
        assert messages[-1].startswith(f"REPORT RequestId: {ids[1]}\tDuration: ")

    runtime.run(scenario)


def test_import_errors_and_bad_requests(runtime: Runtime) -> None:
    code = runtime.code({"broken.py": "import not_a_module_anywhere\n"})

    async def scenario(service: LambdaService) -> None:
        service.register(config("broken", "broken.handler", code))
        service.register(config("missing", "nowhere.handler", code))
        result = await service.invoke("missing", b"{}")
        assert _doc(result.payload) == {
            "errorMessage": "Unable to import module 'nowhere': No module named 'nowhere'",
            "errorType": "Runtime.ImportModuleError",
            "requestId": "",
            "stackTrace": [],
        }
        result = await service.invoke("broken", b"{}")
        assert _doc(result.payload)["errorMessage"] == (
            "Unable to import module 'broken': No module named 'not_a_module_anywhere'"
        )
        with pytest.raises(ResourceNotFoundException, match="Function not found: arn:aws:lambda:"):
            await service.invoke("nope", b"{}")
        with pytest.raises(InvalidRequestContentException):
            await service.invoke("missing", b"{not json")
        with pytest.raises(RequestTooLargeException):
            await service.invoke("missing", b'"' + b"a" * 6_291_456 + b'"')

    runtime.run(scenario)


def test_event_and_dry_run_invocations(runtime: Runtime) -> None:
    marker = runtime.tmp / "ran.txt"
    code = runtime.code({"app.py": f"""
        def handler(event, context):
            open({str(marker)!r}, "w").write(event["v"])
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("bg", "app.handler", code))
        dry = await service.invoke("bg", b'{"v": "dry"}', invocation_type="DryRun")
        assert (dry.status_code, dry.payload) == (204, b"")
        result = await service.invoke("bg", b'{"v": "event"}', invocation_type="Event")
        assert (result.status_code, result.payload, result.function_error) == (202, b"", None)
        for _ in range(100):
            if marker.exists() and marker.read_text() == "event":
                break
            await asyncio.sleep(0.05)
        assert marker.read_text() == "event"

    runtime.run(scenario)


def test_functions_created_through_the_api_survive_a_restart(runtime: Runtime) -> None:
    folder = runtime.code({"app.py": "def handler(event, context):\n    return 'kept'\n"}, folder="local")
    request = {
        "FunctionName": "kept",
        "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/r",
        "Handler": "app.handler",
        "Code": {"S3Bucket": "hot-reload", "S3Key": str(folder)},
        "Environment": {"Variables": {"K": "V"}},
    }

    async def create(service: LambdaService) -> None:
        answer = await service.create_function(request)
        assert answer["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:kept"

    async def after_restart(service: LambdaService) -> None:
        assert service.get("kept").environment == {"K": "V"}
        assert (await service.invoke("kept", b"{}")).payload == b'"kept"'
        await service.delete_function({"FunctionName": "kept"})
        assert folder.is_dir()  # a local folder is used in place, never deleted

    async def after_delete(service: LambdaService) -> None:
        with pytest.raises(ResourceNotFoundException):
            service.get("kept")

    runtime.run(create)
    runtime.run(after_restart)
    runtime.run(after_delete)


def test_template_functions_are_not_persisted(runtime: Runtime) -> None:
    code = runtime.code({"app.py": "def handler(event, context):\n    return 1\n"})

    async def register(service: LambdaService) -> None:
        service.register(config("templated", "app.handler", code))
        assert [c.name for c in service.functions()] == ["templated"]

    async def after_restart(service: LambdaService) -> None:
        assert service.functions() == []

    runtime.run(register)
    runtime.run(after_restart)


def test_no_handler_failure_reaches_the_caller(runtime: Runtime) -> None:
    code = runtime.code({"app.py": """
        import sys, time

        def chatty(event, context):
            for i in range(20000):
                print("line", i, "x" * 50)
            sys.stdout.write("no newline at the end")
            return "done"

        def slow(event, context):
            time.sleep(5)
    """})

    async def scenario(service: LambdaService) -> None:
        service.register(config("gone", "app.handler", runtime.tmp / "no-such-folder"))
        result = await service.invoke("gone", b"{}")
        assert (result.function_error, result.error_type) == ("Unhandled", "Runtime.InvalidEntrypoint")

        service.register(config("nul", "app.chatty", code, environment={"BAD": "a\0b"}))
        result = await service.invoke("nul", b"{}")
        assert result.error_type == "Runtime.InvalidEntrypoint"

        service.register(config("chatty", "app.chatty", code))
        result = await service.invoke("chatty", b"{}")
        assert result.payload == b'"done"'
        assert result.log_tail.splitlines()[-3:-2] == ["no newline at the end"]

        # A caller that gives up (the engine's own TimeoutSeconds) ends that worker; the slot comes back.
        service.register(config("slow", "app.slow", code))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(service.invoke("slow", b"{}"), 0.5)
        assert service.pool("slow").size == 0

    runtime.run(scenario)
    messages = asyncio.run(runtime.log_messages("/aws/lambda/chatty"))
    assert sum(1 for _, m in messages if m.startswith("line ")) == 20000


def test_workers_die_with_a_server_killed_by_sigkill(runtime: Runtime) -> None:
    pid_file = runtime.tmp / "worker.pid"
    code = runtime.code({"app.py": f"""
        import os, time

        def handler(event, context):
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(60)
    """})
    script = runtime.tmp / "server.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio
        from pathlib import Path
        from asyncgate.local.lambdas import FunctionConfig, LambdaService, function_arn

        class Sink:
            def put(self, group, stream, events):
                pass

        async def main():
            service = LambdaService(Sink(), data_dir=Path({str(runtime.tmp / "data")!r}))
            service.register(FunctionConfig("s", function_arn("s"), "app.handler", "python3.12",
                                            Path({str(code)!r}), timeout_s=120))
            await service.invoke("s", b"{{}}")

        asyncio.run(main())
    """))
    server = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        worker = int(pid_file.read_text())
        os.kill(worker, 0)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            if _is_zombie(worker):
                break
            time.sleep(0.02)
        else:
            os.kill(worker, signal.SIGKILL)
            pytest.fail("the worker outlived the server")
    finally:
        if server.poll() is None:
            server.kill()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
