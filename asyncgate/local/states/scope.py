"""What an expression can see while a state runs.

One ``Scope`` is built per state evaluation and handed to every compiled expression (JSONPath,
payload templates, intrinsic functions, JSONata, Choice rules), so expressions never reach into the
engine. Under JSONPath, ``$`` is ``input`` (or ``result`` inside ResultSelector), ``$$`` is
``context``, ``$name`` a variable. Under JSONata, ``$states`` is built from these fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Scope:
    """The values visible to expressions in one state evaluation."""

    #: the state's (effective) input: ``$`` under JSONPath, ``$states.input`` under JSONata
    input: Any
    #: the context object: ``$$`` / ``$states.context`` (Execution, State, StateMachine, Task, Map)
    context: Mapping[str, Any] = field(default_factory=dict)
    #: workflow variables visible here (``Assign``): ``$name``
    variables: Mapping[str, Any] = field(default_factory=dict)
    #: the task's result: ``$states.result`` (JSONata Output/Assign)
    result: Any = None
    #: the error output in a Catch: ``$states.errorOutput``
    error_output: Any = None
