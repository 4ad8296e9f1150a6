"""Mapping templates compiled to Python closures, once, at load: a render is a few direct calls.

Why: airspeed evaluates a template by walking its element tree, and every node costs a method
dispatch, a ``try``/``except`` wrapper (``_Element.evaluate``), a ``StringIO`` write and, for names, a
``LocalNamespace`` lookup that raises ``KeyError`` at each level. Profiling the seed's webhook load
put that walk at a fifth of the server's CPU per request. Here the parsed and fenced tree (see
``vtl.py``) is turned once into nested closures that do only the work of the template: look a name
up, call a Java method through ``java.py``'s tables, append to a list.

Same output and errors as the tree walk, by construction: each closure does what the element it
replaces does, in the same order, on the same objects. Scopes are airspeed's own ``LocalNamespace``
(so ``#set`` scoping, which is ``vtl.set_variable``'s, macros kept in the top namespace and
``#define`` blocks behave as before, and a template evaluated by ``#evaluate`` that does not compile
runs in the tree walk on the same namespace), and airspeed's quirks are kept where they show:

- an index after an index or a call (``$a[0][$i]``, ``$a.b()[$i]``) is computed with the indexed
  object as its namespace, so ``$i`` there resolves as a member of ``$a[0]``;
- ``#stop`` only silences the output (what follows is still evaluated): here the output is cut at
  the point of the first ``#stop`` once rendering ends;
- binary operators apply in airspeed's precedence-stack order, right operand evaluated first, no
  short-circuit; a ``#define`` called as ``$name()`` prints its body and the ``()`` text.

Errors: any exception of a compiled render is the one the tree walk would raise at the same point;
``Template.render`` words it as the tree walk's ``TemplateExecutionError`` chain does
(``TemplateFailed("<type>: <message>")``, a ``TemplateAbort`` passing as is). One difference is
Python's own: a compiled level of macro recursion takes fewer stack frames, so a macro calling itself
between about 80 and 150 levels deep renders here where the tree walk hits ``RecursionError``
(deeper, both fail alike). Neither depth is AWS's (Velocity stops macros at ``velocimacro.max.depth``).

What compiles: text, comments, ``$ref``/``$!ref``/``${ref}``/``$!{ref|alternate}``, member access,
method calls and indexing (``_Member``, ``_SubExpression``), every literal (null, numbers, booleans,
strings, interpolated strings, lists, ranges, maps), parentheses, ``!``/``not``, every binary
operator, ``#set`` (names and ``.key``/``[key]`` targets), ``#if``/``#elseif``/``#else``,
``#foreach`` (with its 1,000-iteration quota), ``#macro`` and macro calls, ``#define``, ``#stop``,
``#evaluate``, ``#return``, ``#include``/``#parse`` (which fail: there is no loader). Anything else
(a node of another type, a ``$`` with no name used as a value) makes ``compile_tree`` answer None
and the template keeps the tree walk.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

from airspeed import operators as av  # type: ignore[import-untyped, unused-ignore]  # airspeed is untyped

from . import vtl
from .java import java_str, methods_for

__all__ = ["Compiled", "compile_tree"]

#: a value: ``calc(namespace) -> value`` (the namespace is a LocalNamespace, or in airspeed's odd
#: corners the object being indexed)
Calc = Callable[[Any], Any]
#: one step of a reference: ``step(current_object, global_namespace) -> value``
Step = Callable[[Any, Any], Any]
#: a block element: ``emit(out, namespace)`` appends its text to ``out``
Emit = Callable[[list[Any], Any], None]

_LocalNamespace = av.LocalNamespace
_FunctionDefinition = av._FunctionDefinition
_MISSING: Any = object()
_dict_get = dict.get
_new_namespace = dict.__new__


class NotCompilableError(Exception):
    """A node this module does not compile: the template keeps the tree walk."""


#: the output of a render (or of an interpolated string): the pieces of text, in order
_Out = list[Any]


class _Stop:
    """What ``#stop`` appends to an output: the text ends there (what follows is still evaluated)."""

    __slots__ = ()


_STOP = _Stop()


def _text_of(out: _Out) -> str:
    """The output's text, cut at its first ``#stop`` (the only piece that is not a str)."""
    try:
        return "".join(out)
    except TypeError:
        return "".join(out[: out.index(_STOP)])


def _take(out: _Out, stream: Any) -> None:
    """Append what a tree-walk stream wrote, and its ``#stop``."""
    out.append(stream.getvalue())
    if stream.stop:
        out.append(_STOP)


class Compiled:
    """A compiled template body: ``render(variables)``, and ``run(out, namespace)`` for ``#evaluate``."""

    __slots__ = ("_block",)

    def __init__(self, block: Emit) -> None:
        self._block = block

    def render(self, variables: Mapping[str, Any]) -> str:
        out: _Out = []
        namespace = _new_namespace(_LocalNamespace)  # LocalNamespace(dict(variables)), without its
        namespace.parent = dict(variables)  # Python-level __init__: an empty dict and its parent
        self._block(out, namespace)
        return _text_of(out)

    def run(self, out: _Out, namespace: Any) -> None:
        # TemplateBody.evaluate_raw: a sub-template shares its caller's namespace
        if not isinstance(namespace, _LocalNamespace):
            namespace = _LocalNamespace(namespace)
        self._block(out, namespace)


def compile_tree(body: Any) -> Compiled | None:
    """The closures for a parsed, fenced ``TemplateBody``; None when some node does not compile."""
    try:
        if type(body) is not av.TemplateBody:
            raise NotCompilableError(type(body).__name__)
        return Compiled(_block(body.block))
    except (NotCompilableError, RecursionError):
        return None
    except Exception:  # a tree shape this module did not foresee: the tree walk renders it
        # as before, so a template that parsed never fails to load here (the tests require
        # their templates to compile, so such a shape shows there)
        return None


# -- names -----------------------------------------------------------------------------------------
def _lookup(namespace: Any, name: str) -> Any:
    """``namespace[name]`` of a LocalNamespace chain, None when no scope has it (``_Member``)."""
    value = _dict_get(namespace, name, _MISSING)
    return _lookup_parents(namespace.parent, name) if value is _MISSING else value


#: the functions (macros, #define blocks) this module compiled, to run them without the tree walk
_BODIES: weakref.WeakKeyDictionary[Any, Emit] = weakref.WeakKeyDictionary()


def _run_function(definition: Any, out: _Out, namespace: Any, args: list[Any]) -> None:
    """``_FunctionDefinition.execute_function``: compiled when this module compiled it."""
    block = _BODIES.get(definition) if isinstance(definition, _FunctionDefinition) else None
    if block is None:  # defined by a template that runs in the tree walk
        stream = av.StoppableStream()
        definition.execute_function(stream, namespace, args, av.NullLoader())
        _take(out, stream)
        return
    if len(args) != len(definition.arg_names):
        expected = len(definition.arg_names)  # airspeed's own exception and words, as the tree walk's
        raise Exception(f"function {definition.function_name} expected {expected} arguments, got {len(args)}")
    local = _LocalNamespace(namespace)
    local.update(zip(definition.arg_names, args, strict=False))
    block(out, local)


# -- values ----------------------------------------------------------------------------------------
_LITERALS = (av.NullLiteral, av.IntegerLiteral, av.FloatingPointLiteral, av.BooleanLiteral, av.StringLiteral)


def _bound(method: Any, func: Any) -> Any:
    """The element a parse-time ``self.calculate = child.calculate`` points at, if it is ``func``."""
    if getattr(method, "__func__", None) is not func:
        raise NotCompilableError(repr(method))
    return method.__self__


def _value(node: Any) -> Calc:
    kind = type(node)
    if kind is av.Value:
        return _value(node.expression)
    if kind in _LITERALS:
        constant = node.value
        return lambda ns: constant
    if kind is av.InterpolatedStringLiteral:
        return _interpolated(node)
    if kind is vtl._Reference:
        return _variable(_bound(node.calculate, av.VariableExpression.calculate))
    if kind is av.ArrayLiteral:
        return _array(node.calculate)
    if kind is av.DictionaryLiteral:
        return _dictionary(node)
    if kind is av.ParenthesizedExpression:
        return _expression(_bound(node.calculate, av.Expression.calculate))
    if kind is vtl._Not:
        operand = _value(node.value)
        truth = vtl.truth
        return lambda ns: not truth(operand(ns))
    raise NotCompilableError(kind.__name__)


def _interpolated(node: Any) -> Calc:
    children = node.block.children
    if all(type(child) is av.Text for child in children):
        constant = "".join(child.text for child in children)
        return lambda ns: constant
    block = _block(node.block)

    def interpolate(ns: Any) -> str:
        out: _Out = []
        block(out, ns)
        return _text_of(out)

    return interpolate


def _array(calculate: Any) -> Calc:
    source: Any = getattr(calculate, "__self__", None)
    if type(source) is av._EmptyValues and getattr(calculate, "__func__", None) is av._EmptyValues.calculate:
        return lambda ns: []
    if type(source) is av.ValueList:
        return _value_list(_bound(calculate, av.ValueList.calculate))
    if type(source) is av.Range:
        return _range(_bound(calculate, av.Range.calculate))
    raise NotCompilableError(repr(calculate))


def _value_list(node: Any) -> Calc:
    items = tuple(_value(v) for v in node.values)
    if len(items) == 1:
        [only] = items
        return lambda ns: [only(ns)]
    if len(items) == 2:
        first, second = items
        return lambda ns: [first(ns), second(ns)]
    return lambda ns: [item(ns) for item in items]


def _range(node: Any) -> Calc:
    start, end = _value(node.value1), _value(node.value2)

    def calculate(ns: Any) -> range:
        first = start(ns)
        last = end(ns)
        if last < first:
            return range(first, last - 1, -1)
        return range(first, last + 1)

    return calculate


def _dictionary(node: Any) -> Calc:
    pairs = tuple((_value(k), _value(v)) for k, v in node.local_data.items())

    def calculate(ns: Any) -> dict[Any, Any]:
        result = {}
        for key, value in pairs:
            result[key(ns)] = value(ns)
        return result

    return calculate


def _parameters(node: Any) -> Calc:
    """``ParameterList.calculate``: the arguments (a tuple when all are literals: callees only unpack it)."""
    constants = _constant_arguments(node)
    if constants is not None:
        return lambda ns: constants
    return _value_list(node.values)


def _constant_arguments(node: Any) -> tuple[Any, ...] | None:
    """The arguments of a ``ParameterList`` when all are literals (or there are none), else None."""
    if type(node) is not av.ParameterList:
        raise NotCompilableError(type(node).__name__)
    values = node.values
    if type(values) is av._EmptyValues:
        return ()
    literals = [_literal(v) for v in values.values]
    if all(known for known, _ in literals):
        return tuple(value for _, value in literals)
    return None


def _literal(node: Any) -> tuple[bool, Any]:
    """(True, value) for a literal that is immutable (number, string, boolean, null), else (False, None)."""
    while type(node) is av.Value:
        node = node.expression
    if type(node) in _LITERALS:
        return True, node.value
    if type(node) is av.InterpolatedStringLiteral and all(type(c) is av.Text for c in node.block.children):
        return True, "".join(child.text for child in node.block.children)
    return False, None


# -- expressions: airspeed's precedence stack, replayed at compile time -------------------------------
def _expression(node: Any) -> Calc:
    if type(node) is not av.Expression:
        raise NotCompilableError(type(node).__name__)
    items = node.expression
    operands = [_value(v) for v in items[0::2]]
    operators = items[1::2]
    for op in operators:
        if type(op) is not av.BinaryOperator:
            raise NotCompilableError(type(op).__name__)
    if not operators:
        return operands[0]
    if len(operators) == 1:
        left, right, apply = operands[0], operands[1], operators[0].apply_to

        def binary(ns: Any) -> Any:
            value2 = right(ns)  # Expression.calculate computes the right operand first
            return apply(left(ns), value2)

        return binary
    return _program(operands, operators)


def _program(operands: list[Calc], operators: list[Any]) -> Calc:
    """Several operators: the steps ``Expression.calculate`` takes, in its order, over registers."""
    steps: list[Callable[[list[Any], Any], None]] = []
    registers = 0

    def load(operand: Calc) -> int:
        nonlocal registers
        slot, registers = registers, registers + 1

        def step(regs: list[Any], ns: Any) -> None:
            regs[slot] = operand(ns)

        steps.append(step)
        return slot

    def reduce(ops: list[Any], values: list[tuple[bool, Any]]) -> None:
        nonlocal registers
        is_operand2, v2 = values.pop()
        slot2 = load(v2) if is_operand2 else v2
        is_operand1, v1 = values.pop()
        slot1 = load(v1) if is_operand1 else v1
        apply = ops.pop().apply_to
        slot, registers = registers, registers + 1

        def step(regs: list[Any], ns: Any) -> None:
            regs[slot] = apply(regs[slot1], regs[slot2])

        steps.append(step)
        values.append((False, slot))

    opstack: list[Any] = []
    valuestack: list[tuple[bool, Any]] = [(True, operands[0])]
    terms = list(zip(operators, operands[1:], strict=True))
    while terms:
        if not opstack or terms[0][0].greater_precedence_than(opstack[-1]):
            opstack.append(terms[0][0])
            valuestack.append((True, terms[0][1]))
            terms = terms[1:]
        else:
            reduce(opstack, valuestack)
    while opstack:
        reduce(opstack, valuestack)
    [(_, result)] = valuestack
    program = tuple(steps)
    size = registers

    def run(ns: Any) -> Any:
        regs: list[Any] = [None] * size
        for step in program:
            step(regs, ns)
        return regs[result]

    return run


# -- references: VariableExpression / _Member / _SubExpression -----------------------------------------
def _variable(node: Any) -> Calc:
    """``VariableExpression.calculate(namespace)``, its chain of steps run in one loop.

    The namespace is also the global namespace (call arguments and indexes are computed in it). A
    nested ``VariableExpression`` given a None global takes its current object as the global instead,
    which can only happen when the namespace itself is None (see ``_subscript``).
    """
    [(_, first), *rest] = _steps(node, nested=False)
    if not rest:
        if node.part.parameters is None and node.part.index is None:
            return _name(node.part.name)  # `$name`: the lookup itself, without a step to wrap
        return lambda ns: first(ns, ns)
    if len(rest) == 1:
        [(nested, second)] = rest

        def two_steps(ns: Any) -> Any:
            value = first(ns, ns)
            return second(value, value if nested and ns is None else ns)

        return two_steps
    steps = tuple(rest)

    def run(ns: Any) -> Any:
        glob = ns
        value = first(ns, ns)
        for nested, step in steps:
            if nested and glob is None:
                glob = value
            value = step(value, glob)
        return value

    return run


def _steps(node: Any, *, nested: bool) -> list[tuple[bool, Step]]:
    """A ``VariableExpression`` and its subexpressions as (starts a nested expression, step) pairs."""
    if type(node) is not av.VariableExpression:
        raise NotCompilableError(type(node).__name__)
    steps = [(nested, _member(node.part))]
    sub = node.subexpression
    while sub is not None:
        if type(sub) is not vtl._SubExpression:
            raise NotCompilableError(type(sub).__name__)
        if type(sub.expression) is not av.ArrayIndex:
            return steps + _steps(sub.expression, nested=True)
        steps.append((False, _subscript(sub.expression)))
        sub = sub.subexpression or None
    return steps


def _subscript(node: Any) -> Step:
    """``_SubExpression`` over an ``ArrayIndex``: airspeed computes the key in the indexed object."""
    key = _value(_array_index(node))
    index = vtl._index
    return lambda current, glob: index(current, key(current))


def _array_index(node: Any) -> Any:
    if type(node) is not av.ArrayIndex:
        raise NotCompilableError(type(node).__name__)
    return node.index


def _lookup_parents(namespace: Any, name: str) -> Any:
    """The rest of ``_lookup``, once the innermost scope does not have ``name``."""
    while type(namespace) is _LocalNamespace:
        value = _dict_get(namespace, name, _MISSING)
        if value is not _MISSING:
            return value
        namespace = namespace.parent
    try:
        return namespace[name]
    except KeyError:
        return None


def _member(node: Any) -> Step:
    """``_Member.calculate``: a name in the namespace, or a member, call or index of a value."""
    if type(node) is not vtl._Member:
        raise NotCompilableError(type(node).__name__)
    name: str = node.name
    member, invoke, index, vtl_object = vtl._member, vtl._invoke, vtl._index, vtl.VtlObject
    if node.parameters is not None:
        params_node = node.parameters
        args = _parameters(params_node)
        constants = _constant_arguments(params_node)  # literal arguments need no call to compute
        string_method = (methods_for("") or {}).get(name)  # what call_method finds for a str

        def call(current: Any, glob: Any) -> Any:
            if type(current) is str:
                values = constants if constants is not None else args(glob)
                return None if string_method is None else string_method(current, *values)
            if isinstance(current, _LocalNamespace):
                result = _lookup(current, name)
                if isinstance(result, _FunctionDefinition):
                    return _call_definition(result, params_node, args, glob)
                return None  # a top-level name called like a function
            if isinstance(current, vtl_object):  # vtl._invoke, inline
                values = constants if constants is not None else args(glob)
                method = current.vtl_get(name)
                return method(*values) if callable(method) else None
            return invoke(current, name, constants if constants is not None else args(glob))

        return call
    if node.index is not None:
        key = _value(_array_index(node.index))

        def subscript(current: Any, glob: Any) -> Any:
            if isinstance(current, _LocalNamespace):
                result = _lookup(current, name)
                if isinstance(result, _FunctionDefinition):
                    return _call_definition(result, None, None, glob)
            else:
                result = member(current, name)
            return index(result, key(glob))

        return subscript

    def get(current: Any, glob: Any) -> Any:
        if isinstance(current, _LocalNamespace):
            result = _dict_get(current, name, _MISSING)
            if result is _MISSING:
                parent = current.parent
                # the usual parent is the render's plain dict of variables: `parent[name]` or None
                result = parent.get(name) if type(parent) is dict else _lookup_parents(parent, name)
            if isinstance(result, _FunctionDefinition):
                return _call_definition(result, None, None, glob)
            return result
        return member(current, name)

    return get


def _name(name: str) -> Calc:
    """``$name`` alone: ``_member``'s ``get`` with the namespace as current object and global."""
    member = vtl._member

    def get(ns: Any) -> Any:
        if isinstance(ns, _LocalNamespace):
            result = _dict_get(ns, name, _MISSING)
            if result is _MISSING:
                parent = ns.parent
                result = parent.get(name) if type(parent) is dict else _lookup_parents(parent, name)
            if isinstance(result, _FunctionDefinition):
                return _call_definition(result, None, None, ns)
            return result
        return member(ns, name)

    return get


def _call_definition(definition: Any, params_node: Any, args: Calc | None, glob: Any) -> str:
    """airspeed's ``NameOrCall.calculate`` for a ``#define`` block (or macro) reached as ``$name``."""
    params = (args(glob) if args is not None else None) or []
    out: _Out = []
    _run_function(definition, out, glob, params)
    text = _text_of(out)
    if isinstance(definition, av.DefineDefinition) and params_node is not None and not params:
        text += params_node.my_text()  # AWS parity, as airspeed has it: `$foo()` prints `()`
    return text


# -- blocks ----------------------------------------------------------------------------------------
def _block(node: Any) -> Emit:
    if type(node) is not av.Block:
        raise NotCompilableError(type(node).__name__)
    items: list[str | Emit] = []  # text (adjacent pieces joined) or an element's closure
    for child in node.children:
        kind = type(child)
        if kind is av.Text or kind is av.FallthroughHashText:
            if items and isinstance(items[-1], str):
                items[-1] += child.text
            else:
                items.append(child.text)
        elif kind is not av.Comment:
            items.append(_element(child))
    if not items:
        return lambda out, ns: None
    if len(items) == 1:
        [only] = items
        return _text(only) if isinstance(only, str) else only
    sequence = tuple(items)

    def block(out: _Out, ns: Any) -> None:
        for item in sequence:
            if isinstance(item, str):
                out.append(item)
            else:
                item(out, ns)

    return block


def _text(text: str) -> Emit:
    return lambda out, ns: out.append(text)


def _element(node: Any) -> Emit:
    kind = type(node)
    if kind is vtl._Reference:
        return _reference(node)
    if kind is av.IfDirective:
        return _if(node)
    if kind is av.SetDirective:
        return _set(node.assignment)
    if kind is vtl._Foreach:
        return _foreach(node)
    if kind is av.MacroDefinition:
        return _macro_definition(node)
    if kind is av.MacroCall:
        return _macro_call(node)
    if kind is vtl._Define:
        return _define(node)
    if kind is av.StopDirective:
        return lambda out, ns: out.append(_STOP)
    if kind is vtl._Evaluate:
        return _evaluate(node)
    if kind is vtl._Return:
        value = _value(node.value)
        return lambda out, ns: out.append(java_str(value(ns)))
    if kind is av.IncludeDirective or kind is av.ParseDirective:
        return _load(node)
    raise NotCompilableError(kind.__name__)


def _reference(node: Any) -> Emit:
    """``_Reference.evaluate_raw``: the value as Java prints it; null (after any alternate) as nothing."""
    if node.expression is None:
        return _text(node.my_text())
    alternate = (
        None if node.alternate is None else _value(_bound(node.alternate.calculate, av.Value.calculate))
    )
    to_str = java_str
    [(_, first), *rest] = _steps(node.expression, nested=False)
    if rest and alternate is None:
        steps = tuple(rest)

        def emit_chain(out: _Out, ns: Any) -> None:  # the usual `$a.b(...)`: _variable's loop, inline
            glob = ns
            result = first(ns, ns)
            for nested, step in steps:
                if nested and glob is None:
                    glob = result
                result = step(result, glob)
            if result is not None:
                out.append(result if type(result) is str else to_str(result))

        return emit_chain
    value = _variable(node.expression)

    def emit(out: _Out, ns: Any) -> None:
        result = value(ns)
        if result is None:
            if alternate is None:
                return
            result = alternate(ns)
            if result is None:
                return
        out.append(result if type(result) is str else to_str(result))

    return emit


def _condition(calculate: Any) -> Calc:
    """A ``#if``/``#elseif`` test: Velocity's truth (``vtl.truth``) of the parenthesized expression."""
    condition = _bound(calculate, vtl._Condition.calculate)  # what the tree walk calls (see vtl._harden)
    if type(condition.expression) is not av.ParenthesizedExpression:
        raise NotCompilableError(type(condition.expression).__name__)
    source = _value(condition.expression)
    truth = vtl.truth
    return lambda ns: truth(source(ns))


def _if(node: Any) -> Emit:
    test = _condition(node.condition.calculate)  # the class's method: a re-classed Condition
    then = _block(node.block)
    branches = []
    for elseif in node.elseifs:
        if type(elseif) is not av.ElseifBlock:
            raise NotCompilableError(type(elseif).__name__)
        branches.append((_condition(elseif.calculate), _block(_bound(elseif.evaluate, av._Element.evaluate))))
    otherwise: Emit | None = None
    if type(node.else_block) is av.ElseBlock:
        otherwise = _block(_bound(node.else_block.evaluate, av._Element.evaluate))
    elif type(node.else_block) is not av.Null:
        raise NotCompilableError(type(node.else_block).__name__)
    elifs = tuple(branches)

    def emit(out: _Out, ns: Any) -> None:
        if test(ns):
            then(out, ns)
            return
        for condition, block in elifs:
            if condition(ns):
                block(out, ns)
                return
        if otherwise is not None:
            otherwise(out, ns)

    return emit


def _set(node: Any) -> Emit:
    """``vtl._Assignment.evaluate_raw``: the value first, then the target."""
    if type(node) is not vtl._Assignment:
        raise NotCompilableError(type(node).__name__)
    value = _expression(node.value)
    name: str = node.root_term
    if not node.terms:
        set_variable = vtl.set_variable

        def assign(out: _Out, ns: Any) -> None:
            result = value(ns)
            if type(ns) is _LocalNamespace and type(ns.parent) is not _LocalNamespace:
                ns[name] = result  # set_variable in the outermost scope sets there
            else:
                set_variable(ns, name, result)

        return assign
    terms = tuple(_assignment_term(t) for t in node.terms)
    path, last = terms[:-1], terms[-1]

    def assign_into(out: _Out, ns: Any) -> None:
        result = value(ns)
        target = ns[name]
        for term in path:
            target = target[term(ns)]
        target[last(ns)] = result

    return assign_into


def _assignment_term(node: Any) -> Calc:
    if type(node) is not av.AssignmentTerm:
        raise NotCompilableError(type(node).__name__)
    term = node.term
    if type(term) is av.DotDictAccessTerm:
        key = term.value
        return lambda ns: key
    if type(term) is av.BracketedValueTerm:
        return _value(term.value)
    raise NotCompilableError(type(term).__name__)


def _foreach(node: Any) -> Emit:
    """``_Foreach.evaluate_raw``: lists, map keys and ranges, at most FOREACH_LIMIT items."""
    iterable = _value(node.value)
    block = _block(node.block)
    var: str = node.loop_var_name

    def emit(out: _Out, ns: Any) -> None:
        items = vtl.foreach_items(iterable(ns), var)
        if items is None:
            return
        for local in vtl.foreach_scopes(ns, items, var):
            block(out, local)

    return emit


def _macro_definition(node: Any) -> Emit:
    """``MacroDefinition.evaluate_raw``: the macro goes in the top namespace, once."""
    _BODIES[node] = _block(node.block)
    key = "#" + node.function_name.lower()

    def define(out: _Out, ns: Any) -> None:
        top = ns.top()
        if key in top:
            raise Exception(f"cannot redefine macro {key}")  # airspeed's exception
        top[key] = node

    return define


def _macro_call(node: Any) -> Emit:
    args = tuple(_value(a) for a in node.args)
    key = "#" + node.macro_name
    name: str = node.macro_name

    def call(out: _Out, ns: Any) -> None:
        try:
            macro = ns[key]
        except KeyError:
            raise Exception("no such macro: " + name)  # noqa: B904 - airspeed's exception, unchained
        _run_function(macro, out, ns, [arg(ns) for arg in args])

    return call


def _define(node: Any) -> Emit:
    """``vtl._Define.evaluate_raw``: the block is set as ``#set`` sets a name."""
    _BODIES[node] = _block(node.block)
    name: str = node.function_name
    set_variable = vtl.set_variable

    def define(out: _Out, ns: Any) -> None:
        set_variable(ns, name, node)

    return define


def _evaluate(node: Any) -> Emit:
    """``_Evaluate.evaluate_raw``: the text compiled (behind the fence) at render time, run here."""
    text = _value(node.value)

    def evaluate(out: _Out, ns: Any) -> None:
        template = vtl.compile_template(java_str(text(ns)))
        if template._compiled is not None:
            template._compiled.run(out, ns)
            return
        stream = av.StoppableStream()
        template._body.evaluate(stream, ns, av.NullLoader())
        _take(out, stream)

    return evaluate


def _load(node: Any) -> Emit:
    """``#include``/``#parse``: there is no loader, so they fail as airspeed's NullLoader does."""
    name = _value(node.name)
    include = type(node) is av.IncludeDirective

    def load(out: _Out, ns: Any) -> None:
        loader = av.NullLoader()
        target = name(ns)
        if include:
            out.append(loader.load_text(target))
        else:
            loader.load_template(target)

    return load
