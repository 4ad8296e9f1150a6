"""VTL behaviours where airspeed's parser differed from Velocity 1.7, in both render paths.

Every template here is rendered compiled and tree-walked (``render_both``), and the two must agree
before the expectation is checked:

- ``#elseif`` tests Velocity's truth, as ``#if`` does (``ASTElseIfStatement.evaluate`` is its
  condition's ``evaluate``, the same call ``ASTIfStatement`` makes): null is false.
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
