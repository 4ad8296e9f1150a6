"""VTL as API Gateway runs it: Java semantics on top of airspeed-ext, and the fence around Python.

Each test cites the behaviour it checks (mapping template reference, aws-facts.md, or Java's API).
Every template here is rendered twice, compiled (``vtl_compile.py``) and by airspeed's tree walk, and
the two must agree (same text, or the same error) before the expectation is checked.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncgate.local.gateway.java import _regex, _replacement, call_method
from asyncgate.local.gateway.mapping import (
    UTIL,
    InputBody,
    InvalidBody,
    Params,
    dump_json,
    escape_javascript,
)
from asyncgate.local.gateway.vtl import (
    FOREACH_LIMIT,
    Template,
    TemplateFailed,
    VtlObject,
    compile_template,
)


def render_both(text: str, variables: Callable[[], dict[str, Any]]) -> str:
    """Render compiled and tree-walked, each over fresh ``variables()``; they must agree."""
    template = compile_template(text)
    walked = Template(template.text, template._body)  # the same parsed tree, without the closures
    results: list[tuple[str, str] | BaseException] = []
    for candidate in (template, walked):
        try:
            results.append(("text", candidate.render(variables())))
        except Exception as exc:  # compared below, then re-raised
            results.append(exc)
    compiled, tree = results
    if isinstance(compiled, BaseException) or isinstance(tree, BaseException):
        assert (type(compiled), str(compiled)) == (type(tree), str(tree)), text
        raise compiled
    assert compiled == tree, text
    return compiled[1]


def render(text: str, **variables: Any) -> str:
    # the $input/$util objects are shared (no test here changes them); plain values are copied
    return render_both(
        text, lambda: {k: v if isinstance(v, VtlObject) else copy.deepcopy(v) for k, v in variables.items()}
    )


def with_input(text: str, body: bytes = b"{}", **params: dict[str, str]) -> str:
    p = Params(params.get("path", {}), params.get("querystring", {}), params.get("header", {}))
    return render_both(text, lambda: {"input": InputBody(body, p), "util": UTIL})


# -- the fence ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "$s.__class__",
        "$s.__class__.__mro__",
        "$s.format($s)",
        "$s.upper()",
        "$input.__init__",
        "$input._raw",
        "$input.document()",
        "$input.params_",
        "$util.__class__.__init__.__globals__",
        "$util.vtl_get('escapeJavaScript')",
        "#set($x = ($s.__class__))$x",
        "#if($s.__class__)leak#end",
        "$m.items()",
        "$m.__len__()",
        "$l.__getitem__(0)",
        "$l.pop()",
        "#evaluate('$s.__class__')",
        '#evaluate("#set($y = $s.__class__)$y")',
    ],
)
def test_templates_cannot_reach_python_internals(template: str) -> None:
    # airspeed resolves $a.b with getattr; the compiled tree resolves only Java methods and listed members.
    out = render(
        template,
        s="text",
        m={"a": 1},
        l=[1],
        util=UTIL,
        input=InputBody(b"{}", Params({}, {}, {})),
    )
    assert "class" not in out and "function" not in out and "method" not in out and "TEXT" not in out
    assert out in ("", "leak"[:0])


def test_foreach_stops_after_api_gateway_s_1000_iterations() -> None:
    # API Gateway quotas: "#foreach iterations in mapping templates: 1,000".
    assert render("#foreach($i in [1..100000])x#end").count("x") == FOREACH_LIMIT
    assert render("#foreach($k in $m)$k#end", m={str(i): i for i in range(2000)}).count("9") < 2000


def test_a_template_error_is_template_failed() -> None:
    with pytest.raises(TemplateFailed):
        render("$util.parseJson('{nope')", util=UTIL)
    with pytest.raises(TemplateFailed):
        compile_template("#foreach($x in")


def test_reading_a_non_json_body_as_json_is_invalid_body() -> None:
    with pytest.raises(InvalidBody):
        with_input("$input.json('$')", b"{nope")
    assert with_input("$input.body", b"{nope") == "{nope"  # the raw body is fine


# -- Java semantics ----------------------------------------------------------------------------------
def test_replace_all_uses_java_group_references() -> None:
    # aws-facts: "abc".replaceAll("(b)","[$1]") is a[b]c in Java (Python's re.sub would keep $1).
    assert render('$s.replaceAll("(b)", "[$1]")', s="abc") == "a[b]c"
    assert render("$s.replaceAll('(?<x>b)', '<${x}>')", s="abc") == "a<b>c"
    assert render("$s.replaceAll('b', '\\$')", s="abc") == "a$c"  # \$ is a literal dollar


_PATTERN_PIECES = ["a", "b", "'", "é", " ", "\\'", "\\\\", "\\.", "\\ ", ".", "b*", "[ab]", "(a)", "\\d", "^"]


@given(
    st.text(alphabet="ab'é \\.x1", max_size=12),
    st.lists(st.sampled_from(_PATTERN_PIECES), min_size=1, max_size=4).map("".join),
    st.lists(st.sampled_from(["x", "'", "", "é", "\\\\", "$0"]), max_size=3).map("".join),
)
def test_replace_all_and_first_are_java_regex_replacements(text: str, pattern: str, repl: str) -> None:
    # A pattern that only matches itself takes str.replace; it must agree with the regex engine.
    regex, replacement = _regex(pattern), _replacement(repl)
    assert call_method(text, "replaceAll", [pattern, repl]) == regex.sub(replacement, text)
    assert call_method(text, "replaceFirst", [pattern, repl]) == regex.sub(replacement, text, count=1)


def test_the_seed_s_replace_all_turns_escaped_apostrophes_back() -> None:
    # mapping template reference: escapeJavaScript gives \' (not JSON); replaceAll("\\'","'") fixes it.
    assert render('$util.escapeJavaScript($s).replaceAll("\\\\\'", "\'")', s="it's", util=UTIL) == "it's"


def test_maps_print_java_style_and_json_arrays_as_json() -> None:
    # Recorded: $input.path('$.json') prints {foo=bar}; a list prints [{"foo":"bar"}].
    assert (
        with_input("$input.path('$')", b'{"foo": "bar", "n": [1, {"a": null}]}')
        == '{foo=bar, n=[1,{"a":null}]}'
    )
    assert with_input("$input.path('$')", b'[{"foo": "bar"}]') == '[{"foo":"bar"}]'
    assert render('#set($m = {"a": 1.5, "b": true, "c": [1, 2]})$m') == "{a=1.5, b=true, c=[1, 2]}"


def test_null_equals_the_empty_string_and_other_types_compare_by_to_string() -> None:
    # Recorded: for a missing path, `$r == ""` and `$r == $null` are both true.
    assert render('#if($nope == "")y#end#if($nope == $null)y#end') == "yy"
    assert render('#if($n == "1")y#end#if($l == "")y#{else}n#end', n=1, l=[]) == "yn"


def test_velocity_truth_null_is_false_anything_else_is_true() -> None:
    assert render("#if($nope)a#{else}b#end#if(!$nope)c#end#if($z && $e)d#end", z=0, e="") == "bcd"


def test_undefined_references_render_as_nothing_but_dollar_digits_stay_text() -> None:
    assert render("[$nope][$nope.deeper][$!nope][$1][${nope}]") == "[][][][$1][]"


def test_string_list_and_map_methods() -> None:
    assert render(
        "$s.length() $s.substring(1, 3) $s.indexOf('c') $s.toUpperCase() $s.contains('bc')", s="abcd"
    ) == ("4 bc 2 ABCD true")
    assert render("$s.split(',').size() $s.matches('[a,]+')", s="a,b,,") == "2 false"
    assert (
        render("#set($d = $m.put('b', 2))$m.keySet() $m.size() $m.containsKey('a')", m={"a": 1})
        == "[a, b] 2 true"
    )
    assert render("#set($d = $l.add(3))$l $l.get(0) $l.isEmpty()", l=[1, 2]) == "[1, 2, 3] 1 false"


def test_entry_set_walks_a_map() -> None:
    template = "#foreach($e in $m.entrySet())$e.key:$e.value;#end $m.entrySet()"
    assert render(template, m={"a": 1, "b": "x"}) == "a:1;b:x; [a=1, b=x]"


def test_arithmetic_is_numeric_only() -> None:
    assert render("#set($x = $n - 1)$x #set($y = 7 / 2)$y #set($z = $s * 1000)[$z]", n=3, s="ab") == "2 3 []"


def test_doubles_print_as_java_does() -> None:
    assert with_input(
        "$input.path('$.a') $input.path('$.b') $input.path('$.c')", b'{"a": 1e20, "b": 2.0, "c": 0.5}'
    ) == ("1.0E20 2.0 0.5")


# -- $input --------------------------------------------------------------------------------------------
def test_input_params_look_in_path_then_query_then_headers() -> None:
    # mapping template reference: $input.params(x) searches path, query string, header, in that order.
    params = {"path": {"a": "p"}, "querystring": {"a": "q", "b": "q"}, "header": {"A": "h", "C": "h"}}
    assert with_input(
        "$input.params('a') $input.params('b') $input.params('c') [$input.params('d')]", **params
    ) == ("p q h []")
    assert with_input("$input.params().path.a $input.params().header.keySet()", **params) == "p [A, C]"


def test_input_json_and_path() -> None:
    body = b'{"a": {"b": [1, 2, {"c": "d"}]}, "s": "x"}'
    assert with_input("$input.json('$.a.b')", body) == '[1,2,{"c":"d"}]'
    assert with_input("$input.json('$.s') $input.path('$.s') $input.path('$.a.b[2].c')", body) == '"x" x d'
    assert with_input("[$input.path('$.missing')]", body) == "[]"
    assert with_input("$input.path('$.a.b').size()", body) == "3"
    assert with_input("$input.body $input.json('$')", b"") == "{} {}"  # recorded: empty body is {}


def test_changes_through_input_path_show_in_input_json() -> None:
    # qiita.com/makisyu: #set($body = $input.path('$')) #set($body.url = "...") then $input.json('$').
    template = "#set($b = $input.path('$'))#set($b.url = \"https://x/$b.id\")$input.json('$')"
    assert with_input(template, b'{"id": 7}') == '{"id":7,"url":"https://x/7"}'


def test_jsonpath_wildcards_scans_unions_and_slices() -> None:
    body = b'{"a": [{"b": 1, "c": 2}, {"b": 3}], "d": {"b": 4}}'
    assert with_input(
        "$input.json('$.a[*].b') $input.json('$..b') $input.json(\"$.a[0]['b','c']\")", body
    ) == ('[1,3] [1,3,4] {"b":1,"c":2}')
    assert with_input("$input.json('$.a[-1]') $input.json('$.a[0:1]') $input.json('$.d.*')", body) == (
        '{"b":3} [{"b":1,"c":2}] [4]'
    )


# -- $util ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("it's", "it\\'s"),
        ('say "hi"', 'say \\"hi\\"'),
        ("a/b", "a\\/b"),
        ("back\\slash", "back\\\\slash"),
        ("é", "\\u00E9"),
        ("☃", "\\u2603"),
        ("😀", "\\uD83D\\uDE00"),
        ("\b\t\n\f\r", "\\b\\t\\n\\f\\r"),
        ("\x00\x1f\x7f", "\\u0000\\u001F\x7f"),
    ],
)
def test_escape_javascript_is_commons_lang_s(text: str, escaped: str) -> None:
    assert escape_javascript(text) == escaped


@given(st.text())
def test_escaped_text_with_apostrophes_restored_is_a_json_string(text: str) -> None:
    escaped = escape_javascript(text).replace("\\'", "'")
    assert json.loads(f'"{escaped}"') == text


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_escaping_ascii_text_escapes_each_character_as_commons_lang_does(text: str) -> None:
    assert escape_javascript(text) == "".join(escape_javascript(ch) for ch in text)
    assert escape_javascript(text + "é")[:-6] == escape_javascript(text)  # the non-ASCII path agrees


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=8,
    )
)
def test_dump_json_is_compact_json(value: Any) -> None:
    assert dump_json(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "encoded"),
    [("a b*~/", "a+b*%7E%2F"), ("é&=", "%C3%A9%26%3D"), ("-_.", "-_."), ('{"a": 1}', "%7B%22a%22%3A+1%7D")],
)
def test_url_encode_is_java_s_url_encoder(text: str, encoded: str) -> None:
    # aws-facts: Python quote_plus gives a+b%2A~%2F; Java URLEncoder gives a+b*%7E%2F.
    assert render("$util.urlEncode($s)", s=text, util=UTIL) == encoded
    assert render("$util.urlDecode($util.urlEncode($s))", s=text, util=UTIL) == text


def test_base64_and_parse_json() -> None:
    assert render("$util.base64Encode('héllo')", util=UTIL) == "aMOpbGxv"
    assert render("$util.base64Decode('aMOpbGxv')", util=UTIL) == "héllo"
    assert render("""#set($o = $util.parseJson('{"k": {"arr": [1, 2]}}'))$o.k.arr[1] $o""", util=UTIL) == (
        "2 {k={arr=[1,2]}}"
    )


@given(st.text().filter(lambda t: "$" not in t and "#" not in t))
def test_text_without_references_or_directives_renders_as_itself_without_the_interpreter(text: str) -> None:
    try:
        template = compile_template(text)
    except TemplateFailed:  # airspeed refuses some such texts (a lone backslash): no static path then
        return
    assert template.static == text
    interpreted = Template(text, template._body)  # the same parsed text, without the static path
    assert interpreted.static is None
    assert interpreted.render({}) == template.render({}) == text
