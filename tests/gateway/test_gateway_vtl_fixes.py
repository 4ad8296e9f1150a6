"""VTL behaviours where airspeed's parser differed from Velocity 1.7, in both render paths.

Every template here is rendered compiled and tree-walked (``render_both``), and the two must agree
before the expectation is checked:

- ``#elseif`` tests Velocity's truth, as ``#if`` does (``ASTElseIfStatement.evaluate`` is its
  condition's ``evaluate``, the same call ``ASTIfStatement`` makes): null is false;
- ``#set`` writes Velocity's one context, so a name first set inside ``#foreach`` or a macro body
  outlives the loop or the call (``velocimacro.context.localscope`` defaults to false); only what
  the loop or call binds itself (the loop variable, a macro's literal arguments) stays inside.
"""

from __future__ import annotations

import pytest

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
        ("#foreach($i in [1])#evaluate('#set($ev = $i)')#end$ev", "1"),
    ],
)
def test_set_inside_foreach_or_a_macro_writes_the_global_context(template: str, expected: str) -> None:
    assert render(template, s="abc", l=[1, 2]) == expected
