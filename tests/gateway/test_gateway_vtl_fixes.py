"""VTL behaviours where airspeed's parser differed from Velocity 1.7, in both render paths.

Every template here is rendered compiled and tree-walked (``render_both``), and the two must agree
before the expectation is checked:

- ``#elseif`` tests Velocity's truth, as ``#if`` does (``ASTElseIfStatement.evaluate`` is its
  condition's ``evaluate``, the same call ``ASTIfStatement`` makes): null is false;
- ``#set`` writes Velocity's one context, so a name first set inside ``#foreach`` or a macro body
  outlives the loop or the call (``velocimacro.context.localscope`` defaults to false); only what
  the loop or call binds itself (the loop variable, a macro's literal arguments) stays inside;
  ``#define`` puts its block where ``#set`` would;
- a template that does not parse, however it fails, is accepted at load and fails the requests that
  use it with 500 ``Internal server error`` (API Gateway takes any template text at deploy time).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.local.gateway import Gateway, GatewayRequest, build_rest_apis
from asyncgate.local.gateway.vtl import Template, TemplateFailed, compile_deferred

from .stack import API_ID, StubAws, api_stack, seed_integration
from .test_gateway_vtl import render


# -- #elseif ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("#if(false)a#elseif($nope)b#{else}c#end", "c"),  # null is false, as in #if
        ("#if(false)a#elseif(!$nope)b#{else}c#end", "b"),
        ("#if(false)a#elseif($z)b#{else}c#end", "b"),  # 0 is non-null, so true (Velocity 1.7)
        ("#if(false)a#elseif($e)b#{else}c#end", "b"),  # "" likewise
        ("#if(false)a#elseif($nope)b#elseif($t)c#end", "c"),
        ("#if(false)a#elseif(false)b#elseif($l)c#end", "c"),
    ],
)
def test_elseif_tests_the_same_truth_as_if(template: str, expected: str) -> None:
    assert render(template, z=0, e="", t=True, l=[]) == expected
    if_form = template.replace("#if(false)a#elseif(", "#if(", 1)  # the first #elseif as an #if
    assert render(if_form, z=0, e="", t=True, l=[]) == expected.replace("a", "")


# -- #set scope ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("#foreach($i in [1, 2])#set($x = $i)#end$x", "2"),
        ("#foreach($i in [1..3])#set($inner = $i)#end[$inner]", "[3]"),
        ("#foreach($i in [1, 2])#foreach($j in [3, 4])#set($x = $j)#end#end$x", "4"),
        ("#foreach($i in $l)#set($s = $i)#end$s", "2"),  # a variable the template was given
        ("#set($x = 0)#foreach($i in [1, 2])#set($x = $x + $i)#end$x", "3"),
        ("#foreach($i in [1, 2])#set($i = 9)$i#end[$i]", "99[]"),  # the loop variable stays the loop's
        ("#set($i = 'v')#foreach($i in [1, 2])$i#end$i", "12v"),
        ("#macro(m)#set($made = 1)#end#m()$made", "1"),
        ("#macro(m $a)#set($made = $a)#end#m(5)$made", "5"),
        ("#macro(m $a)#set($a = 2)$a#end#m(1)[$a]", "2[]"),  # a literal argument is the call's own
        ("#macro(m $a)#foreach($i in [$a])#set($made = $i)#end#end#m(7)$made", "7"),
        ("#define($d)#set($made = 1)#end$d$made", "1"),
        ("#foreach($i in [1, 2])#define($d)d#end#end[$d]", "[d]"),  # Velocity's Define puts as #set does
        ("#macro(m)#define($d)in $s#end#end#m()$d", "in abc"),
        ("#foreach($i in [1])#evaluate('#set($ev = $i)')#end$ev", "1"),
    ],
)
def test_set_inside_foreach_or_a_macro_writes_the_global_context(template: str, expected: str) -> None:
    assert render(template, s="abc", l=[1, 2]) == expected


# -- templates that do not parse -------------------------------------------------------------------
MALFORMED = [
    "#if($a not $b)x#end",  # airspeed's parser raised KeyError: 'not' out of compile_deferred
    "#set($x = 1 not 2)",
    "#foreach($a in",
    "#if($a",
    "#if($a)x",
    "#set($x = )",
    "#macro(",
    "#macro(m $a",
    "#define($d",
    "$!{a",
    "#set($a[ = 1)",
    "#evaluate(",
    "#if($a ==)x#end",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_a_template_that_does_not_parse_loads_and_fails_the_request(text: str) -> None:
    template = compile_deferred(text)
    with pytest.raises(TemplateFailed, match=r"^Invalid mapping template: "):
        template.render({})


def test_a_template_airspeed_crashes_on_answers_500_and_the_api_still_loads() -> None:
    aws = StubAws()
    broken = seed_integration(RequestTemplates={"application/json": "#if($a not $b)x#end"})
    gateway = Gateway(build_rest_apis(api_stack([("/", "POST", broken)])), aws=aws)
    request = GatewayRequest(
        "POST", API_ID, "main", "/", "", [("Content-Type", "application/json")], b"{}", "203.0.113.9"
    )
    response = asyncio.run(gateway.handle(request))
    assert (response.status, response.body) == (500, b'{"message": "Internal server error"}')
    assert aws.calls == []


_PIECES = [
    *("#if(", "#elseif(", "#else", "#end", "#foreach(", "#set(", "#macro(", "#define(", "#evaluate("),
    *("#stop", "#return(", "#{else}", "#{end}", "#*", "*#", "##", "#", "$", "$!{", "$a", "$a.b(", "$a["),
    *(" in ", " not ", " and ", " or ", " ne ", " gt ", "==", "!=", "&&", "||", "!", "-", "+", "%", "<"),
    *("(", ")", "[", "]", "{", "}", "'", '"', ",", ":", "..", "=", "|", ".", "\\", "\n", " "),
    *("1", "2.5", "true", "null", "x", "é"),
    *("#if($a", "#set($x = $a", "#foreach($i in $b", " not $a)", " == ", " $b)", "#end"),
]
#: a directive's opening, an operator (or a word taken for one) and what may close it
_CLAUSES = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["#if(", "#elseif(", "#set($x = ", "#foreach($i in ", "$a.b(", "#m(", "["]),
        st.sampled_from(["$a", "1", "'s'", "", "($a", "[1"]),
        st.sampled_from([" not ", " and ", " ", "==", " gt ", " in ", ",", ".."]),
        st.sampled_from(["$b", "2", "", "!", "$a)"]),
        st.sampled_from([")", "", "))", "]", ")x#end"]),
    ),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), _CLAUSES), min_size=1, max_size=10).map("".join))
def test_any_text_loads_and_renders_or_fails_as_template_failed(text: str) -> None:
    template = compile_deferred(text)  # never raises: any text is a template at deploy time
    for way in (template, Template(template.text, template._body)):
        with contextlib.suppress(TemplateFailed):
            way.render({"a": "s", "b": [1, {"c": 2}]})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # Velocity 1.7's ASTGTNode and siblings: a null or a non-number side compares false (logged
        # by Velocity), it does not fail the request
        ("#if($missing > 1)yes#{else}no#end", "no"),
        ("#if($s < 1)yes#{else}no#end", "no"),
        ("#if($s >= $s)yes#{else}no#end", "no"),
        ("#if($n > 1)yes#{else}no#end", "yes"),
        ("#if($n ge 5 && $n le 5)yes#{else}no#end", "yes"),
        ("#if($n lt 2.5)yes#{else}no#end", "no"),
        # ASTAddNode: a string on either side of + concatenates
        ('#set($x = "a" + "b")$x', "ab"),
        ('#set($x = "n=" + $n)$x', "n=5"),
        ('#set($x = $n + "!")$x', "5!"),
        ("#set($x = $n + 1)$x", "6"),
    ],
)
def test_relational_operators_and_string_concatenation_as_velocity(template: str, expected: str) -> None:
    assert render(template, s="abc", n=5) == expected
