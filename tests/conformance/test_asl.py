"""Amazon States Language executions against results recorded on AWS (shared/conformance/asl/).

The runner drives the project as a user does, as the corpus README asks: through boto3 against a live
``asyncgate up`` server (run with ``--time-scale 100`` so Waits, retries and timeouts take a
hundredth of their time). Fixture Lambda functions are created with ``lambda.create_function`` from
one-file handlers laid out like the recorded ones (so stack traces in causes match); then, per case:

- ``execution``: ``create_state_machine`` (STANDARD), ``start_execution``, poll ``describe_execution``
  to the end, compare status and output, or error and cause;
- ``invalid_definition``: ``create_state_machine`` must fail with AWS's InvalidDefinition message;
- ``test_state``: ``test_state`` with the case's parameters; compare status, output, error, cause,
  nextState and inspectionData.

Volatile places (ARNs, dates, UUIDs) are compared by the case's regex (``volatile_patterns``; null
accepts any value); ``cause_is_json`` compares causes parsed. Two more placeholder conventions of the
recordings are honoured (``_masked_by_key_name``, ``_content_length_of_masked_payload``): a header or
metadata value recorded as its own key name is a masked per-run value, and a Content-Length counting a
masked Payload value must be the length of our Payload. All cases run once, concurrently, in a session
fixture (cases whose TimeoutSeconds races a real Lambda on a second server at real time); each
parametrized test then asserts its own case.

Cases that do not pass yet are listed in ``asl_known_gaps.txt`` (id, a tab, the reason) and explained
in ``docs/conformance.md``. A listed case must still fail — if it passes, the test says so, so the
list only shrinks. Nothing is skipped.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import REPO, SHARED, LiveServer, StartServer
from tests.corpus_functions import HANDLERS

CASES_FILE = SHARED / "conformance" / "asl" / "cases.jsonl"
CASES: dict[str, dict[str, Any]] = {
    case["id"]: case for case in map(json.loads, CASES_FILE.read_text().splitlines()) if case
}
GAPS_FILE = Path(__file__).with_name("asl_known_gaps.txt")
ROLE = "arn:aws:iam::000000000000:role/asl-conformance"
TIME_SCALE = "100"
#: wall seconds an execution may take before the runner gives up on it
PATIENCE = 90.0


def _load_gaps() -> dict[str, str]:
    gaps: dict[str, str] = {}
    for line in GAPS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            case_id, _, reason = line.partition("\t")
            gaps[case_id.strip()] = reason.strip()
    return gaps


KNOWN_GAPS = _load_gaps()


def handler_source(function_name: str) -> str | None:
    """The fixture's code, or None when the corpus does not say what the function does."""
    for prefix in sorted(HANDLERS, key=len, reverse=True):
        if function_name.startswith(prefix):
            return HANDLERS[prefix]
    return None


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", source)
    return buffer.getvalue()


# -- comparison -----------------------------------------------------------------------------------------
_ANY = object()


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _get(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            raise KeyError(part)
    return doc


def _set(doc: Any, parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    if isinstance(doc, list):
        doc[int(parts[-1])] = value
    else:
        doc[parts[-1]] = value


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


#: objects whose per-run values LocalStack's snapshot key-value transformers masked with the key's own name
_METADATA = frozenset({"SdkHttpMetadata", "SdkResponseMetadata"})


def _masked_by_key_name(
    want: Any, got: Any, problems: list[str], at: str = "", inside: bool = False
) -> None:
    """Per-run header and metadata values recorded as their own key name: compare presence and shape.

    In the recordings LocalStack's key-value transformers replaced a value AWS makes per run by the name
    of its key (``"x-amzn-RequestId": "x-amzn-RequestId"``, ``"X-Amzn-Trace-Id": "X-Amzn-Trace-Id"``,
    ``"RequestId": "RequestId"``, ``"Date": "date"``), the corpus README's "values AWS makes per run were
    replaced by placeholders". Inside ``SdkHttpMetadata``/``SdkResponseMetadata`` such a string stands
    for any value of the header's shape: a non-empty string (``HttpHeaders``, ``RequestId``) or a list of
    them (``AllHttpHeaders``). Both sides are then set to one marker so the rest of the case compares.
    """
    if isinstance(want, dict) and isinstance(got, dict):
        for key, value in want.items():
            if key not in got:
                continue
            masked = inside and isinstance(value, str) and value.lower() == key.lower()
            if not masked:
                _masked_by_key_name(value, got[key], problems, f"{at}/{key}", inside or key in _METADATA)
                continue
            shown = got[key]
            strings = [shown] if isinstance(shown, str) else shown
            if not isinstance(strings, list) or not strings or not all(
                    isinstance(s, str) and s for s in strings):
                problems.append(f"{at}/{key}: {json.dumps(shown)} is not a per-run header value")
            want[key] = got[key] = "<masked>"
    elif isinstance(want, list) and isinstance(got, list):
        for i, (a, b) in enumerate(zip(want, got, strict=False)):
            _masked_by_key_name(a, b, problems, f"{at}/{i}", inside)


def _content_length_of_masked_payload(
    case: dict[str, Any], expected: Any, actual: Any, problems: list[str]
) -> None:
    """A lambda:invoke Content-Length whose Payload holds a masked value is checked against our Payload.

    The recorded Content-Length counts the bytes of the recording's function name (``lambda_func_`` plus
    a short id), masked in the Payload as ``<lambda_function_name>``; ours counts our fixture's name. So
    the header must be the length of our Payload as AWS's Python runtime writes it (``json.dumps`` with
    its default ``", "``/``": "`` separators, non-ASCII kept), and is then masked on both sides.
    """
    pointers = [p for p in case.get("volatile_patterns") or {} if "/Payload/" in p]
    for pointer in pointers:
        head = _pointer_parts(pointer.split("/Payload/", 1)[0])
        try:
            want, got = _get(expected, head), _get(actual, head)
            want_meta, got_meta = want["SdkHttpMetadata"], got["SdkHttpMetadata"]
            length = str(len(json.dumps(got["Payload"], ensure_ascii=False).encode()))
        except (KeyError, IndexError, TypeError):
            continue
        for headers, shaped in (("HttpHeaders", lambda v: v), ("AllHttpHeaders", lambda v: [v])):
            ours = got_meta.get(headers, {}).get("Content-Length")
            if ours != shaped(length):
                problems.append(f"{pointer}: Content-Length {ours!r} is not our Payload's {length} bytes")
            for meta in (want_meta, got_meta):
                if "Content-Length" in meta.get(headers, {}):
                    meta[headers]["Content-Length"] = "<payload length>"


def compare(case: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """The differences between the recorded result and ours, volatile places masked by their regex."""
    expected = json.loads(json.dumps(case["expected"]))
    expected.pop("cause_is_json", None)
    actual = json.loads(json.dumps(actual))
    if case["expected"].get("cause_is_json"):
        expected["cause"] = _maybe_json(expected.get("cause"))
        actual["cause"] = _maybe_json(actual.get("cause"))
    problems: list[str] = []
    _content_length_of_masked_payload(case, expected, actual, problems)
    _masked_by_key_name(expected, actual, problems)
    for pointer, pattern in (case.get("volatile_patterns") or {}).items():
        parts = _pointer_parts(pointer)
        try:
            value = _get(actual, parts)
        except (KeyError, IndexError, TypeError):
            problems.append(f"{pointer}: missing")
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if pattern is not None and not re.fullmatch(pattern, text, re.DOTALL):
            problems.append(f"{pointer}: {text!r} does not match {pattern!r}")
        _set(actual, parts, "<volatile>")
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _set(expected, parts, "<volatile>")
    for key, want in expected.items():
        got = actual.get(key)
        if key == "inspectionData" and isinstance(got, dict) and isinstance(want, dict):
            # the API returns each step as JSON text; the recordings hold most of them parsed (a JSON
            # string step as the bare string) and a few as the text: either form of ours may match
            got = {k: v if want.get(k) == v else _maybe_json(v) for k, v in got.items()}
        if got != want:
            where = _first_difference(want, got)
            problems.append(f"{key}{where}: expected {json.dumps(_get_or(want, where))[:400]}, "
                            f"got {json.dumps(_get_or(got, where))[:400]}")
    return problems


def _first_difference(want: Any, got: Any, at: str = "") -> str:
    """The JSON pointer of the first place two documents differ ('' when they differ at the top)."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in list(want) + [k for k in got if k not in want]:
            if key not in want or key not in got:
                return f"{at}/{key}"
            if want[key] != got[key]:
                return _first_difference(want[key], got[key], f"{at}/{key}")
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (a, b) in enumerate(zip(want, got, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{at}/{i}")
    return at


def _get_or(doc: Any, pointer: str) -> Any:
    try:
        return _get(doc, _pointer_parts(pointer)) if pointer else doc
    except (KeyError, IndexError, TypeError):
        return "<absent>"


# -- running --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    passed: bool
    detail: str


class Runner:
    """Runs every case against one live server, through boto3."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.sfn = server.client("stepfunctions")
        self.lam = server.client("lambda")

    def create_functions(self) -> None:
        names = {name for case in CASES.values() for name in case.get("lambdas") or {}}
        for name in sorted(names):
            source = handler_source(name)
            if source is None:  # e.g. unknown_0: no handler_file recorded; its cases stay known gaps
                continue
            try:
                self.lam.create_function(
                    FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::000000000000:role/lambda",
                    Handler="handler.handler", Code={"ZipFile": _zip(source)},
                    Timeout=90 if name.startswith("wait_60_seconds") else 10,
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceConflictException":
                    raise

    def run(self, index: int, case: dict[str, Any]) -> Result:
        try:
            if case["kind"] == "execution":
                actual = self.execution(index, case)
            elif case["kind"] == "invalid_definition":
                actual = self.invalid_definition(index, case)
            else:
                actual = self.test_state(case)
        except ClientError as exc:
            error = exc.response["Error"]
            return Result(False, f"{error.get('Code')}: {error.get('Message')}")
        except Exception as exc:  # the runner reports; the test asserts
            return Result(False, f"{type(exc).__name__}: {exc}")
        problems = compare(case, actual)
        return Result(not problems, "; ".join(problems))

    def execution(self, index: int, case: dict[str, Any]) -> dict[str, Any]:
        machine = self.sfn.create_state_machine(
            name=f"asl-{index}", definition=json.dumps(case["definition"]), roleArn=ROLE, type="STANDARD",
        )["stateMachineArn"]
        try:
            arn = self.sfn.start_execution(stateMachineArn=machine, input=json.dumps(case["input"]))[
                "executionArn"]
            deadline = time.monotonic() + PATIENCE
            delay = 0.005
            while True:
                described = self.sfn.describe_execution(executionArn=arn)
                if described["status"] != "RUNNING":
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"still RUNNING after {PATIENCE} s")
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        finally:
            self.sfn.delete_state_machine(stateMachineArn=machine)
        actual: dict[str, Any] = {"status": described["status"]}
        if "output" in described:
            actual["output"] = json.loads(described["output"])
        for key in ("error", "cause"):
            if key in described:
                actual[key] = described[key]
        return actual

    def invalid_definition(self, index: int, case: dict[str, Any]) -> dict[str, Any]:
        try:
            machine = self.sfn.create_state_machine(
                name=f"asl-invalid-{index}", definition=json.dumps(case["definition"]), roleArn=ROLE,
            )["stateMachineArn"]
        except ClientError as exc:  # the recording kept botocore's rendering of the error
            error = exc.response["Error"]
            cause = (f"An error occurred ({error['Code']}) when calling the CreateStateMachine operation: "
                     f"{error['Message']}")
            return {"status": "INVALID_DEFINITION", "error": error["Code"], "cause": cause}
        self.sfn.delete_state_machine(stateMachineArn=machine)
        return {"status": "CREATED"}

    def test_state(self, case: dict[str, Any]) -> dict[str, Any]:
        params = dict(case.get("test_state_params") or {})
        request: dict[str, Any] = {"definition": json.dumps(case["definition"]),
                                   "input": json.dumps(case["input"])}
        # roleArn is optional and the corpus does not record it; a context showing RoleArn null is AWS's
        # own word that the recording passed none
        if '"RoleArn": null' not in json.dumps(case["expected"]):
            request["roleArn"] = ROLE
        for key in ("inspectionLevel", "stateName", "revealSecrets"):
            if key in params:
                request[key] = params[key]
        for key in ("mock", "context", "variables", "stateConfiguration"):
            if key in params:
                value = params[key]
                request[key] = value if key in ("mock", "stateConfiguration") else json.dumps(value)
        answer = self.sfn.test_state(**request)
        actual: dict[str, Any] = {"status": answer["status"]}
        if "output" in answer:
            actual["output"] = json.loads(answer["output"])
        for key in ("error", "cause", "nextState", "inspectionData"):
            if key in answer:
                actual[key] = answer[key]
        return actual


def runs_in_real_time(case: dict[str, Any]) -> bool:
    """Whether a case's outcome depends on a TimeoutSeconds racing a real Lambda invocation.

    A Lambda function's own run time does not scale with ``--time-scale``: scaled a hundredfold, the
    recorded ``TimeoutSeconds: 1`` around an identity function would be 10 ms of wall time, less than a
    worker's start. Such cases run on a second server at real time, where the timeout means what it
    meant on AWS.
    """
    return bool(case.get("lambdas")) and '"TimeoutSeconds"' in json.dumps(case["definition"])


@pytest.fixture(scope="session")
def asl_results(start_server: StartServer) -> dict[str, Result]:
    scaled = start_server("--time-scale", TIME_SCALE)
    # the second serves the assembly the first synthesized (no second synth of the sample app)
    real_time = start_server("--assembly", str(REPO / "cdk.out"))
    runners = {True: Runner(scaled), False: Runner(real_time)}
    for runner in runners.values():
        runner.create_functions()
    ids = sorted(CASES)

    def run(i: int) -> Result:
        case = CASES[ids[i]]
        return runners[not runs_in_real_time(case)].run(i, case)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(run, range(len(ids))))
    return dict(zip(ids, results, strict=True))


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_asl_case(case_id: str, asl_results: dict[str, Result]) -> None:
    result = asl_results[case_id]
    if case_id in KNOWN_GAPS:
        assert not result.passed, f"{case_id} passes now: remove it from asl_known_gaps.txt"
    else:
        assert result.passed, result.detail


def test_known_gaps_name_real_cases() -> None:
    assert set(KNOWN_GAPS) <= set(CASES)
    assert all(KNOWN_GAPS.values()), "every known gap needs a reason"


def test_pass_table(asl_results: dict[str, Result], capsys: pytest.CaptureFixture[str]) -> None:
    """Per-category pass counts, printed at the end of the run (and checked against the gap list)."""
    total: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for case_id, result in asl_results.items():
        category = CASES[case_id]["category"]
        total[category] += 1
        passed[category] += result.passed
    width = max(map(len, total))
    lines = [f"{'category':<{width}}  pass / total"]
    lines += [f"{c:<{width}}  {passed[c]:>4} / {total[c]:<4}" for c in sorted(total)]
    lines.append(f"{'ALL':<{width}}  {sum(passed.values()):>4} / {sum(total.values()):<4}"
                 f"  ({len(KNOWN_GAPS)} known gaps)")
    with capsys.disabled():
        print("\nASL conformance (boto3 against a live server):\n" + "\n".join(lines))
    assert sum(passed.values()) + len(KNOWN_GAPS) == len(CASES)


def _lambda_case(payload: Any, length: str, request_id: Any) -> dict[str, Any]:
    all_headers = {"Content-Length": [length], "x-amzn-RequestId": request_id}
    headers = {"Content-Length": length, "x-amzn-RequestId": "x-amzn-RequestId"}
    return {"expected": {"status": "SUCCEEDED", "output": {
        "Payload": payload, "SdkHttpMetadata": {"AllHttpHeaders": all_headers, "HttpHeaders": headers},
        "SdkResponseMetadata": {"RequestId": "RequestId"}}}}


def test_masked_by_key_name_compares_presence_and_shape() -> None:
    case = _lambda_case({}, "2", "x-amzn-RequestId")
    ours = json.loads(json.dumps(case["expected"]))
    meta = ours["output"]["SdkHttpMetadata"]
    meta["AllHttpHeaders"]["x-amzn-RequestId"] = ["0b9c"]
    meta["HttpHeaders"]["x-amzn-RequestId"] = "0b9c"
    ours["output"]["SdkResponseMetadata"]["RequestId"] = "0b9c"
    assert compare(case, ours) == []
    del meta["HttpHeaders"]["x-amzn-RequestId"]
    meta["AllHttpHeaders"]["x-amzn-RequestId"] = []
    problems = compare(case, ours)
    assert any("AllHttpHeaders/x-amzn-RequestId" in p for p in problems)
    assert any("HttpHeaders/x-amzn-RequestId" in p and "absent" in p for p in problems)
    # a placeholder outside the metadata objects is a value like any other
    assert compare({"expected": {"output": {"Date": "date"}}}, {"output": {"Date": "x"}}) != []


def test_content_length_of_a_masked_payload_is_our_payloads_length() -> None:
    case = _lambda_case({"Input": {"FunctionName": "<lambda_function_name>"}}, "47", "x-amzn-RequestId")
    case["volatile_patterns"] = {"/output/Payload/Input/FunctionName": None}
    ours = json.loads(json.dumps(case["expected"]))
    ours["output"]["Payload"]["Input"]["FunctionName"] = "id_function_0"
    meta = ours["output"]["SdkHttpMetadata"]
    for compact in (False, True):
        separators = (",", ":") if compact else (", ", ": ")
        length = str(len(json.dumps(ours["output"]["Payload"], separators=separators)))
        meta["AllHttpHeaders"]["Content-Length"], meta["HttpHeaders"]["Content-Length"] = [length], length
        assert (compare(case, ours) == []) is not compact, length
