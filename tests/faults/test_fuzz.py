"""Property-based fuzzing of the expression languages and the definition parser: whatever the text,
each gives a value or the error it is designed to give — never another exception.

- VTL (``gateway/vtl.py``): a string, or ``TemplateFailed`` (API Gateway's 500 "Internal server error"
  with "Execution failed due to configuration error: Unable to transform request"); no Python object's
  repr ever leaks into the output;
- JSONPath (``states/jsonpath.py``): ``compile_path`` gives a path or ``ValueError``; ``get`` a value or
  ``PathNotFound``;
- intrinsic functions: ``compile_intrinsic`` a call or ``ValueError``; ``evaluate`` a value or
  ``StatesError`` (States.IntrinsicFailure / States.Runtime);
- JSONata: ``compile_jsonata`` an expression or ``ValueError``; ``evaluate`` a value or ``StatesError``
  (States.QueryEvaluationError);
- ``parse_definition``: a definition or ``InvalidDefinition`` (AWS's message);
- request bodies (``gateway/jsonbody.py``): a value or ``JsonBodyError`` with Jackson's words, and any
  JSON document reads back as sent.

Text is drawn from each language's own alphabet, so the fuzzers reach past the first character.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncgate.local.errors import InvalidDefinition
from asyncgate.local.gateway.jsonbody import JsonBodyError, read_json
from asyncgate.local.gateway.mapping import UTIL, InputBody, Params
from asyncgate.local.gateway.vtl import TemplateAbort, TemplateFailed, compile_template
from asyncgate.local.states.errors import StatesError
from asyncgate.local.states.intrinsics import compile_intrinsic
from asyncgate.local.states.jsonata import compile_jsonata
from asyncgate.local.states.jsonpath import PathNotFound, compile_path
from asyncgate.local.states.parse import parse_definition
from asyncgate.local.states.scope import Scope

#: ``make soak`` runs these with ASYNCGATE_FUZZ_EXAMPLES=5000.
FUZZ = settings(max_examples=int(os.environ.get("ASYNCGATE_FUZZ_EXAMPLES", "250")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


def tokens(*alphabet: str, max_size: int = 24) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(alphabet) | st.text(max_size=2), max_size=max_size).map("".join)


# -- VTL ------------------------------------------------------------------------------------------------
VTL = tokens(
    "$", "$!", "${", "}", "$input", "$util", "$context", ".json(", ".path(", ".params(", ".body", "'$'",
    "'$.a'", ")", "(", "#set(", "#foreach(", "#if(", "#elseif(", "#else", "#end", "#evaluate(", "#break",
    "#stop", "#return", "#macro(", " in ", "[1..9999]", "[", "]", "{", ":", ",", '"', "'", "=", "==",
    "!", "&&", "||", "+", "-", "*", "/", "%", "__class__", "__init__", "__globals__", "__dict__",
    "getattr", ".class", ".getClass()", ".forName(", ".escapeJavaScript(", ".parseJson(",
    ".base64Decode(", ".urlDecode(", ".replaceAll(", ".substring(", ".size()", ".keySet()", ".put(",
    ".get(", "$x", "$x.y", "1", "-1", "9999999999999999999", "true", "null", "\\", "\n", "##", "#*", "*#",
    max_size=30,
)
_PY_REPR = re.compile(r"<(class|function|module|bound method|built-in|frame|code|generator) ")


@FUZZ
@given(VTL, st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()))
def test_vtl_renders_or_fails_as_designed(text: str, body: bytes) -> None:
    try:
        template = compile_template(text)
        out = template.render({"input": InputBody(body, Params({}, {}, {"h": "v"})), "util": UTIL,
                               "context": {"requestId": "r"}, "stageVariables": {}})
    except (TemplateFailed, TemplateAbort):
        return
    assert isinstance(out, str)
    assert not _PY_REPR.search(out), out


# -- JSONPath -------------------------------------------------------------------------------------------
PATHS = tokens("$", "$$", ".", "..", "[", "]", "*", "'", '"', "?", "@", "(", ")", "<", ">", "=", "==", "!",
               "&&", "||", ":", ",", "-", "0", "1", "-1", "a", "b", "length", "Execution", "[*]", "[0]",
               "[-1:]", "[?(@.a)]", "[0,1]", "['a','b']", "\\", " ")


@FUZZ
@given(PATHS, json_values)
def test_jsonpath_compiles_and_reads_or_fails_as_designed(text: str, doc: Any) -> None:
    try:
        path = compile_path(text)
    except ValueError:
        return
    with contextlib.suppress(PathNotFound):
        path.get(doc)


# -- intrinsic functions --------------------------------------------------------------------------------
NAMES = ["States.Format", "States.StringToJson", "States.JsonToString", "States.Array",
         "States.ArrayPartition", "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem",
         "States.ArrayLength", "States.ArrayUnique", "States.Base64Encode", "States.Base64Decode",
         "States.Hash", "States.JsonMerge", "States.MathRandom", "States.MathAdd", "States.StringSplit",
         "States.UUID", "States.Nope"]
INTRINSIC_ARGS = tokens("(", ")", ",", " ", "'", "\\'", "\\\\", "{}", "$", "$.a", "$.b[0]", "$$.Execution.Id",
                        "1", "-1", "0", "2.5", "1e308", "9999999999", "null", "true", "'MD5'", "'SHA-256'",
                        "'a'", "'{\"a\": 1}'", *[n + "(" for n in NAMES])


@FUZZ
@given(st.sampled_from(NAMES), INTRINSIC_ARGS, json_values)
def test_intrinsics_evaluate_or_fail_as_designed(name: str, args: str, doc: Any) -> None:
    try:
        call = compile_intrinsic(f"{name}({args})")
    except ValueError:
        return
    with contextlib.suppress(StatesError):
        call.evaluate(Scope(input={"a": doc, "b": [doc]}, context={"Execution": {"Id": "x"}}))


# -- JSONata --------------------------------------------------------------------------------------------
JSONATA = tokens("$states.input", "$states.context", "$x", ".", "a", "b", "[", "]", "(", ")", "{", "}", ":",
                 ",", ";", "+", "-", "*", "/", "%", "&", "=", "!=", "<", ">", "and", "or", "in", "?", "'s'",
                 '"', "1", "0", "1e308", "$string(", "$number(", "$sum(", "$count(", "$parse(", "$eval(",
                 "$hash(", "$partition(", "$range(", "$random()", "$uuid()", "$merge(", "$split(",
                 "$replace(", "$match(", "/a+/", "function($v){", "$map(", "$reduce(", "~>", "^(", "#$i",
                 "@$j", "..", "**", "$$", ":=", " ")


@FUZZ
@given(JSONATA, json_values)
def test_jsonata_evaluates_or_fails_as_designed(text: str, doc: Any) -> None:
    try:
        expr = compile_jsonata(text, field="Output")
    except ValueError:
        return
    with contextlib.suppress(StatesError):
        expr.evaluate(Scope(input={"a": doc}, variables={"x": doc}), allow_undefined=True)


# -- definitions ----------------------------------------------------------------------------------------
FIELDS = ["Type", "Next", "End", "StartAt", "States", "Comment", "QueryLanguage", "InputPath", "OutputPath",
          "ResultPath", "Parameters", "ResultSelector", "Result", "Resource", "TimeoutSeconds",
          "HeartbeatSeconds", "Retry", "Catch", "ErrorEquals", "IntervalSeconds", "MaxAttempts",
          "BackoffRate", "Choices", "Default", "Variable", "StringEquals", "And", "Not", "Condition",
          "Seconds", "Timestamp", "SecondsPath", "Branches", "Iterator", "ItemProcessor", "ItemsPath",
          "MaxConcurrency", "Assign", "Output", "Arguments", "Items", "Error", "Cause", "a.$", "x"]
TYPES = ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map", "Nope"]
scalars = st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.sampled_from(
    ["A", "B", "$", "$.a", "$$.x", "{% $x %}", "States.ALL", "JSONata", "JSONPath", "arn:aws:lambda:x",
     "States.Array(1)", "2024-01-01T00:00:00Z", *TYPES])
definition_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5),
    max_leaves=10,
)
states = st.dictionaries(
    st.sampled_from(["A", "B", "C"]),
    st.fixed_dictionaries(
        {"Type": st.sampled_from(TYPES)}, optional={f: definition_values for f in FIELDS if f != "Type"}
    ),
    min_size=1, max_size=3,
)


@settings(FUZZ, max_examples=max(1, FUZZ.max_examples // 3))
@given(st.fixed_dictionaries({"StartAt": st.sampled_from(["A", "B", "Z"]), "States": states},
                             optional={"QueryLanguage": st.sampled_from(["JSONata", "JSONPath", "x"]),
                                       "TimeoutSeconds": scalars}))
def test_parse_definition_gives_a_definition_or_invalid_definition(doc: dict[str, Any]) -> None:
    try:
        parse_definition(doc)
    except InvalidDefinition as exc:
        assert str(exc).startswith("Invalid State Machine Definition: "), str(exc)
    with contextlib.suppress(InvalidDefinition):
        parse_definition(json.dumps(doc))


@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_parse_definition_of_any_text(text: str) -> None:
    with contextlib.suppress(InvalidDefinition):
        parse_definition(text)


# -- request bodies (gateway/jsonbody.py: the body as Jackson reads it) ----------------------------------
BODY = tokens("{", "}", "[", "]", '"', ":", ",", " ", "\n", "1", "-", "0.5e3", "true", "null", "NaN",
              "Infinity", "\\", "\\u00e9", "\\ud800", "a", "é", "\x00", max_size=40)


@FUZZ
@given(BODY.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.binary(max_size=64)
       | st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n))
def test_a_request_body_reads_or_fails_as_jackson_does(raw: bytes) -> None:
    try:
        read_json(raw)
    except JsonBodyError as exc:
        assert str(exc), raw


@FUZZ
@given(json_values)
def test_a_json_body_reads_back_as_sent(value: Any) -> None:
    assert read_json(json.dumps(value).encode()) == value


@FUZZ
@given(st.integers(1, 2000), st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
def test_nesting_up_to_jacksons_limit_reads_and_past_it_is_refused(
    depth: int, brackets: tuple[bytes, bytes]
) -> None:
    opening, closing = brackets
    raw = opening * depth + b"1" + closing * depth
    if depth <= 1000:
        read_json(raw)
    else:
        try:
            read_json(raw)
        except JsonBodyError as exc:
            assert str(exc).startswith("Document nesting depth (1001) exceeds the maximum allowed (1000")
        else:
            raise AssertionError(f"depth {depth} was read")
