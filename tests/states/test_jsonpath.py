"""JSONPath (Jayway semantics, as Step Functions uses it): compile, get, set, resolve.

Spec quotes are from the Amazon States Language specification ("Paths", "Reference Paths") and the
Step Functions developer guide ("Input and Output Processing"); AWS's error wording from the recorded
corpus (/work/shared/conformance/asl/cases.jsonl).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.local.states.jsonpath import PathNotFound, Root, compile_path, split_variable_path
from asyncgate.local.states.scope import Scope

DOC: dict[str, Any] = {
    "store": {
        "book": [
            {"title": "A", "price": 8.95, "tags": ["x"]},
            {"title": "B", "price": 12.99},
            {"title": "C", "price": 8.99, "isbn": "0-553"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "n": 3,
}


# "A Path is a string, beginning with "$", used to identify components with a JSON text."
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DOC),
        ("$.n", 3),
        ("$.store.bicycle.color", "red"),
        ("$['store']['bicycle']", {"color": "red", "price": 19.95}),
        ('$["store"].bicycle["color"]', "red"),
        ("$.store.book[0].title", "A"),
        ("$.store.book[-1].title", "C"),
        ("$.store.book.length()", 3),
        ("$.store.book[0].tags.length()", 1),
    ],
)
def test_definite_paths_return_the_value(path: str, expected: Any) -> None:
    compiled = compile_path(path)
    assert compiled.is_definite
    assert compiled.get(DOC) == expected


# Jayway returns a list for an indefinite path (wildcard, deep scan, union, slice, filter).
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.book[*].title", ["A", "B", "C"]),
        ("$..price", [8.95, 12.99, 8.99, 19.95]),
        ("$.store.book[0,2].title", ["A", "C"]),
        ("$.store.book[1:3].title", ["B", "C"]),
        ("$.store.book[:1].title", ["A"]),
        ("$.store.book[-2:].title", ["B", "C"]),
        ("$.store.book[?(@.price < 10)].title", ["A", "C"]),
        ("$.store.book[?(@.price >= 12.99)].title", ["B"]),
        ("$.store.book[?(@.price > 8 && @.title != 'A')].title", ["B", "C"]),
        ("$.store.book[?(@.title == 'A' || @.title == \"C\")].price", [8.95, 8.99]),
        ("$.store.book[?(@.isbn)].title", ["C"]),
        ("$.store.book[?(!(@.isbn))].title", ["A", "B"]),
        ("$.store.book[?(@.price > $.n)].title", ["A", "B", "C"]),
        ("$.store.book[?(@.title =~ /[AB]/)].title", ["A", "B"]),
        ("$.store.book[?(@.missing > 1)]", []),
        ("$.store.*.color", ["red"]),
    ],
)
def test_indefinite_paths_return_a_list(path: str, expected: Any) -> None:
    compiled = compile_path(path)
    assert not compiled.is_definite
    assert compiled.get(DOC) == expected


def test_multi_property_leaf_merges_into_one_object() -> None:
    # Jayway: ['a','b'] as the last token is definite and returns an object of those properties.
    assert compile_path("$.store.bicycle['color','price']").get(DOC) == {"color": "red", "price": 19.95}


def test_quoted_names_keep_backslashes_except_before_the_quote() -> None:
    # Recorded (test_escape_sequence_parsing): $['Test\\""Name"'] reads the key Test\""Name".
    doc = {'Test\\""Name"': 'Value"\\'}
    assert compile_path('$[\'Test\\""Name"\']').get(doc) == 'Value"\\'
    assert compile_path("$['it\\'s']").get({"it's": 1}) == 1


# Recorded causes: "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
# and "Invalid path '$.no.such.result.path' : Missing property in path $['no']".
@pytest.mark.parametrize(
    ("path", "doc", "message"),
    [
        ("$.NoSuchInputPath", {"int-literal": 0}, "No results for path: $['NoSuchInputPath']"),
        ("$.no.such.result.path", {}, "Missing property in path $['no']"),
        ("$.a[5]", {"a": [1]}, "No results for path: $['a'][5]"),
    ],
)
def test_missing_definite_path_raises_with_jaywords_message(path: str, doc: Any, message: str) -> None:
    with pytest.raises(PathNotFound) as info:
        compile_path(path).get(doc)
    assert info.value.message == message
    assert info.value.path == path


def test_traversing_a_scalar_is_not_found() -> None:
    with pytest.raises(PathNotFound, match="Expected to find an object with property"):
        compile_path("$.n.x").get(DOC)
    with pytest.raises(PathNotFound, match="can only be applied to arrays"):
        compile_path("$.store[0]").get(DOC)


@pytest.mark.parametrize(
    "bad", ["", "a.b", "$.", "$..", "$[", "$['a'", "$[x]", "$.a[?(@.b >)]", "$.foo()", "$.a[1:2:3]"]
)
def test_malformed_paths_raise_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        compile_path(bad)


def test_compile_is_cached() -> None:
    assert compile_path("$.store.book[0]") is compile_path("$.store.book[0]")


# "ResultPath ... the state's result is placed at that path in the input"; "$" replaces the input.
def test_set_places_the_value_and_creates_intermediate_objects() -> None:
    doc = {"a": {"keep": 1}, "list": [{"x": 1}, {"x": 2}]}
    before = copy.deepcopy(doc)
    assert compile_path("$.a.b.c").set(doc, 5) == {"a": {"keep": 1, "b": {"c": 5}}, "list": doc["list"]}
    assert compile_path("$.list[1].x").set(doc, 9)["list"] == [{"x": 1}, {"x": 9}]
    assert compile_path("$").set(doc, "all") == "all"
    assert doc == before  # a new document; the input is never mutated


def test_set_fails_on_non_objects_and_indefinite_paths() -> None:
    with pytest.raises(PathNotFound):
        compile_path("$.a.b").set({"a": "text"}, 1)
    with pytest.raises(PathNotFound):
        compile_path("$.a[3]").set({"a": [1]}, 1)
    with pytest.raises(PathNotFound):
        compile_path("$.a[*]").set({"a": [1]}, 1)
    assert not compile_path("$.a[*]").is_reference


def test_context_and_variable_paths_resolve_against_their_documents() -> None:
    scope = Scope(input={"a": 1}, context={"Execution": {"Id": "arn:x"}}, variables={"order": {"id": 7}})
    assert compile_path("$$.Execution.Id").root is Root.CONTEXT
    assert compile_path("$$.Execution.Id").resolve(scope) == "arn:x"
    assert compile_path("$order.id").resolve(scope) == 7
    assert compile_path("$.a").resolve(scope) == 1
    with pytest.raises(PathNotFound):
        compile_path("$nope.id").resolve(scope)
    assert split_variable_path("$order.items[0]")[0] == "order"
    assert split_variable_path("$order.items[0]")[1].text == "$.items[0]"


# -- properties ---------------------------------------------------------------------------------

_keys = st.text(alphabet="abcxyz_0123", min_size=1, max_size=4)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    doc=st.dictionaries(_keys, _json, max_size=4), keys=st.lists(_keys, min_size=1, max_size=4), value=_json
)
def test_set_then_get_round_trips(doc: dict[str, Any], keys: list[str], value: Any) -> None:
    path = compile_path("$" + "".join(f"['{k}']" for k in keys))
    before = copy.deepcopy(doc)
    try:
        updated = path.set(doc, value)
    except PathNotFound:
        return  # an intermediate value is not an object: the engine's States.ResultPathMatchFailure
    assert path.get(updated) == value
    assert doc == before


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="$.[]()?@'\"*,:-=<>!&|ab01 ", max_size=20))
def test_arbitrary_text_compiles_or_raises_value_error(text: str) -> None:
    try:
        path = compile_path(text)
    except ValueError:
        return
    with contextlib.suppress(PathNotFound):
        path.get(DOC)
