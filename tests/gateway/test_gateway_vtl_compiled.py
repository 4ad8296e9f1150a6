"""The compiled templates (``vtl_compile.py``) against airspeed's tree walk, which stays the reference.

Every template of the VTL conformance corpus is rendered both ways over the variables the gateway
builds for its recorded request (and, for response templates, the recorded integration answer); then
a list of templates aimed at airspeed's corners (scoping, macros, ``#stop``, operator order, errors),
and random templates built from fragments. Both ways must give the same text, or the same error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.cdk.api import _FAILED, _START_REQUEST, _SYNC_OUTPUT, AsyncResponse
from asyncgate.local.gateway import GatewayRequest, build_rest_apis
from asyncgate.local.gateway.invocation import Invocation
from asyncgate.local.gateway.mapping import UTIL, InputBody, Params
from asyncgate.local.gateway.model import Method, RestApi
from asyncgate.local.gateway.routing import RouteMatch
from asyncgate.local.gateway.vtl import Template, compile_template
from tests.conformance.test_vtl import CASES, _stack, case_request

Outcome = tuple[str, str]


def outcome(template: Template, variables: dict[str, Any]) -> Outcome:
    try:
        return ("text", template.render(variables))
    except Exception as exc:  # the error is the outcome compared
        return (type(exc).__name__, str(exc))


def walked(template: Template) -> Template:
    """The same parsed tree without the closures: ``render`` walks it."""
    return Template(template.text, template._body)


# -- the conformance corpus, through the variables the gateway builds ---------------------------------
def _request(case: dict[str, Any]) -> tuple[RestApi, GatewayRequest, RouteMatch[Method]]:
    [api] = build_rest_apis(_stack(case))
    request = case_request(case, api.api_id)
    match = api.router.match(request.method, request.path)
    assert isinstance(match, RouteMatch), case["id"]
    return api, request, match


def _templates(method: Method) -> Iterator[tuple[str, Template]]:
    integration = method.integration
    for media, template in integration.request_templates.items():
        yield f"request {media}", template
    responses = [
        *integration.responses,
        *([integration.default_response] if integration.default_response else []),
    ]
    for response in responses:
        for media, template in response.templates.items():
            yield f"response {response.status_code} {media}", template


def _exchange(case: dict[str, Any], way: Callable[[Template], Template]) -> list[tuple[str, Outcome]]:
    """The case's templates in the order the gateway runs them, over one invocation's variables."""
    api, request, match = _request(case)
    inv = Invocation(request, 1_767_225_600.0, "req-0001", "ext0001abcdefgh=", "Root=1-00000000-0")
    inv.api, inv.stage, inv.method = api, api.stage(case["request"]["stage"]), match.target
    inv.build_context(match.resource_path, match.path_params)
    answer = (case.get("integration_response") or {}).get("body", request.body.decode())
    results = []
    for name, template in _templates(match.target):
        payload = request.body if name.startswith("request") else answer.encode()
        results.append((name, outcome(way(template), inv.template_variables(payload))))
    return results


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_conformance_templates_render_the_same_compiled_and_walked(case_id: str) -> None:
    compiled = _exchange(CASES[case_id], lambda t: t)
    assert compiled == _exchange(CASES[case_id], walked)


def test_every_conformance_template_compiles() -> None:
    templates = [
        (case_id, name, template)
        for case_id in sorted(CASES)
        for name, template in _templates(_request(CASES[case_id])[2].target)
    ]
    assert len(templates) >= len(CASES) // 2
    assert [(c, n) for c, n, t in templates if t._compiled is None] == []


def test_the_seed_and_cdk_templates_take_the_compiled_path() -> None:
    seed = compile_template(_START_REQUEST % "arn:aws:states:us-east-1:000000000000:stateMachine:m")
    assert seed._compiled is not None and seed.static is None
    for text in (_SYNC_OUTPUT, _FAILED, *(r.value for r in AsyncResponse)):
        assert compile_template(text)._compiled is not None, text
    body = b'{"event": "order.created", "customer": {"name": "O\'Brien", "note": "a/b \\"q\\""}}'
    variables = {"input": InputBody(body, Params({}, {}, {})), "util": UTIL}
    assert seed._compiled.render(variables) == outcome(walked(seed), variables)[1]
    assert '"input": "{\\"event\\":\\"order.created\\",\\"customer\\":{\\"name\\":\\"O\'Brien\\"' in (
        seed.render(variables)
    )


# -- airspeed's corners -----------------------------------------------------------------------------
def fresh() -> dict[str, Any]:
    return {
        "s": "abc",
        "n": 3,
        "f": 2.5,
        "e": "",
        "z": 0,
        "t": True,
        "l": [1, 2, 3],
        "ll": [[1, 2], [3, 4]],
        "m": {"a": 1, "b": [1, 2], "c": {"d": "x"}},
        "util": UTIL,
        "input": InputBody(
            b'{"a": {"b": [1, 2, {"c": "it\'s"}]}, "n": 2}', Params({"p": "1"}, {"q": "2"}, {})
        ),
    }


CORNERS = [
    # names, scopes and #set
    "#set($x = 1)$x #set($x = $x + 1)$x",
    "#foreach($i in [1..3])#set($inner = $i)#end[$inner]",
    "#set($outer = 0)#foreach($i in [1..3])#set($outer = $i)#end$outer",
    "#foreach($i in $l)#set($s = $i)$s#end $s",
    "#set($m.a = 5)#set($m['new'] = [1])#set($m.c.d = 'y')$m",
    "#set($nope.a = 1)",
    "#set($s.a = 1)",
    "#set($x = $null)[$x]#set($x = 'v')$x",
    "#set($input = $input.json('$'))$input",
    "#foreach($k in $m)$k=$m.get($k)$velocityCount $foreach.index $foreach.first $foreach.last"
    " $velocityHasNext;#end",
    "#foreach($i in [3..1])$i#end #foreach($i in [])x#end #foreach($i in $nope)x#end",
    "#foreach($i in $s)x#end",
    "#foreach($i in $n)x#end",
    "#foreach($i in [1..2])#foreach($j in $l)$i$j,#end#end",
    "#foreach($i in [1..2000])#end$i",
    # references
    "$s.length() $s.substring(1) $s.toUpperCase() $s.nope() $s.nope $l[0] $l[-1] $l[9] $m.b[1] $m.c.d",
    "$ll[0][1] $ll[1][$n] #set($i = 1)$ll[0][$i] $m.b.get(0) $l.get(0).toString()",
    "$!nope $!{nope} ${nope} $!{nope|'alt'} ${s|'alt'} ${nope|$s} ${nope|$nope2}x",
    "$ $1 $! $$ $.a #foo #a1 x#",
    "$n.toString() $f $t $n.equals(3) $f.intValue() $m.keySet() $m.entrySet() $m.size()",
    "$input.path('$.a.b')[2].c $input.json('$.a') $input.params('p') $input.params().querystring",
    "$input.path('$.a.b').get(2).get('c').replaceAll(\"'\", '') $util.escapeJavaScript($input.body)",
    "$input.nope $input.json $input.__class__ $util.parseJson('[1, {\"a\": 2}]')[1].a",
    "$l.add(4) $l $m.put('e', 1) $m.remove('e') $m",
    "$s.split('') $s.matches('a.c') $s.replaceAll('(a)(b)', '$2$1') $s.replaceFirst('[a-z]', '\\\\$')",
    "$s.replaceAll('b', '$9')",
    "$s.charAt(9)",
    "$l.get('x')",
    "$l.foo($nope.bar(1))",
    # literals and expressions
    '#set($d = {"k": [1, 2.50, true, null, "$s", \'$s\'], $s: {}})$d $d.k $d.abc',
    "#set($r = [1..$n])$r #set($q = [$n..1])$q #set($e2 = [])$e2.size()",
    "#set($x = 1 + 2 * 3 - 4 / 2 % 3)$x #set($y = (1 + 2) * 3)$y #set($w = 7 / 0)[$w]",
    "#set($x = $s + 1)[$x] #set($y = 2.5 * 2)$y #set($z = -7 / 2)$z #set($q = -7 % 3)$q",
    "#if($n > 2 && $n < 5 || $nope)a#end#if($n >= 3 and $n <= 3)b#end#if($n gt 2 or false)c#end",
    "#if($n == 3.0)a#end#if($s == 'abc')b#end#if($s != $nope)c#end#if($nope == '')d#end#if(!$t)e#end",
    "#if($l == '[1, 2, 3]')a#end#if($m eq $m)b#end#if($n ne 4)c#end#if(not $z)d#end",
    "#if($s > 1)x#end",
    "#if($nope < 1)x#end",
    "#set($x = $l.add(9) == $l.size())$x $l",
    "#set($x = $l.add(5) + $l.size() * $l.add(6))[$x] $l",
    "#set($x = !$nope)$x #set($y = !$s)$y #set($w = ($n == 3) == true)$w",
    # #if / #elseif / #else (an #elseif tests Velocity's truth, as #if does)
    "#if(false)a#elseif($nope)b#{else}c#end",
    "#if($nope)a#elseif($e)b#elseif($z)c#elseif($l)d#{else}e#end",
    "#if($e)a#{else}b#end #if($z)c#end #if($m)d#end",
    "#if($t)\n  yes\n#else\n  no\n#end\ndone",
    # macros, #define, #evaluate, #return, #stop, #include/#parse
    "#macro(twice $a)$a$a#end#twice($s)#twice('x')",
    "#macro(m $a)$a#end#m()",
    "#macro(m)x#end#macro(m)y#end",
    "#nomacro('a')",
    "#macro(set_it $v)#set($made = $v)#end#set_it(1)[$made]",
    "#macro(set_arg $v)#set($v = 2)$v#end#set_arg(1)[$v] #set($w = 1)#set_arg($w)[$w]",
    "#foreach($i in [1, 2])#set($i = 9)$i#set($velocityCount = 0)#end[$i][$velocityCount]",
    "#foreach($i in [1..2])#define($d)d$i#end#end[$d]",
    "#macro(rec $n)#if($n > 0)$n#set($k = $n - 1)#rec($k)#end#end#rec(3)",
    "#macro(forever)#forever()#end#forever()",
    "#define($block)hello $s#end$block $block() $block.length() #set($x = $block)$x",
    "#define($b2 $a)[$a]#end$b2('z') $b2",
    "#evaluate('$s.length() #set($ev = 1)')$ev #evaluate($nope)",
    "#evaluate('#foreach(')",
    "#evaluate('#macro(inner)in#end')#inner()",
    "#return($m) #return($nope) #return($f)",
    "before#stop after $l.add(7)$l",
    "x#if(true)a#stop b#end c#set($after = 1)",
    '#set($v = "in#stop side")$v after',
    "#include('other.vtl')",
    "#parse($s)",
    "#* block comment *#a## line comment\nb",
    "#foo(1)",
]


@pytest.mark.parametrize("text", CORNERS)
def test_corner_renders_the_same_compiled_and_walked(text: str) -> None:
    template = compile_template(text)
    assert template._compiled is not None
    assert outcome(template, fresh()) == outcome(walked(template), fresh())


def test_the_compiled_path_keeps_the_tree_walk_s_quirks() -> None:
    # airspeed: an index after an index resolves in the indexed object
    assert compile_template("#set($i = 1)$ll[0][$i]|$ll[0][1]").render({"ll": [[1, 2]]}) == "|2"
    assert compile_template("a#stop$l.add(1)").render(variables := {"l": []}) == "a"
    assert variables["l"] == [1]


def test_compiled_and_walked_parts_share_namespace_macros_and_stop() -> None:
    # `$` with no name, used as a value, does not compile: the #evaluate text and the macro body run
    # in the tree walk, on the compiled template's namespace and output
    uncompiled = "#if(false)#set($z = $)#end"
    assert compile_template(uncompiled)._compiled is None
    inner = f"#macro(hi $a)hi $a{uncompiled}#end#set($seen = 1)"
    outer = compile_template("#evaluate($t)#hi('you') $seen #evaluate($u) never")
    variables = {"t": inner, "u": f"{uncompiled}stop#stop here"}
    assert outer._compiled is not None
    assert outer.render(dict(variables)) == walked(outer).render(dict(variables)) == "hi you 1 stop"


# -- random templates from fragments --------------------------------------------------------------------
_VALUES = [
    "$s",
    "$n",
    "$l",
    "$m",
    "$nope",
    "1",
    "2.5",
    "'q'",
    '"i$n"',
    "[1, $n]",
    "{'k': $s}",
    "true",
    "$null",
    "$m.a",
    "$l[1]",
    "$l.size()",
    "$s.length()",
    "[1..3]",
    "$input.path('$.a')",
    "!$e",
    "($n - 1)",
]
_OPS = ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "&&", "||"]


def _expression() -> st.SearchStrategy[str]:
    value = st.sampled_from(_VALUES)
    return st.builds(
        lambda first, rest: first + "".join(f" {op} {v}" for op, v in rest),
        value,
        st.lists(st.tuples(st.sampled_from(_OPS), value), max_size=3),
    )


def _fragments(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    name = st.sampled_from(["x", "y", "n", "l"])
    return st.one_of(
        st.builds(lambda e, v: f"#set(${v} = {e})", _expression(), name),
        st.builds(lambda e, a, b: f"#if({e}){a}#{{else}}{b}#end", _expression(), children, children),
        st.builds(lambda e, a, b: f"#if({e}){a}#elseif({e}){b}#end", _expression(), children, children),
        st.builds(lambda e, v, b: f"#foreach(${v} in {e}){b}#end", _expression(), name, children),
        st.builds(lambda b: f"#macro(mm $a){b}#end", children),
        st.just("#mm($n)"),
        st.just("#stop"),
        st.builds(lambda v: f"[${{{v}}}]", name),
    )


_TEXT = st.sampled_from(["", "a", " ", "\n", "$x", "$y.size()", "$l", "$!y", "$velocityCount"])
_TEMPLATES = st.recursive(
    _TEXT,
    lambda children: st.lists(st.one_of(children, _fragments(children)), min_size=1, max_size=4).map("".join),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_TEMPLATES)
def test_random_templates_render_the_same_compiled_and_walked(text: str) -> None:
    try:
        template = compile_template(text)
    except Exception:  # the parser's business, not the compiler's
        return
    assert template._compiled is not None, text
    assert outcome(template, fresh()) == outcome(walked(template), fresh()), text
