"""Velocity templates as API Gateway runs them: airspeed-ext's parser, with Java semantics and a fence.

Why not airspeed-ext as is: it is the Velocity *syntax* over Python objects. It resolves ``$a.b`` with
``getattr`` (so ``$input.__class__`` or ``$s.format(...)`` reach Python internals), prints maps and
floats the Python way, compares with Python's ``==``, does ``replaceAll`` with Python's replacement
syntax and loops without bound. After parsing, ``compile_template`` re-classes the few element types
that evaluate member access, printing, comparison and loops, so the compiled tree (and only ours; the
library itself is not patched) resolves names through ``java.py``'s method tables and the members that
``VtlObject`` subclasses list. ``#foreach`` stops after 1,000 iterations, API Gateway's quota
(Velocity's ``directive.foreach.maxloops``).

Templates are parsed and fenced once, at load, and then compiled to Python closures
(``vtl_compile.py``): a render runs those, not airspeed's tree walk. A template with a construct the
compiler does not know keeps the tree walk, which stays the reference the compiled form matches.

Example:
    >>> t = compile_template('#set($m = {"a": 1})$m $m.a $m.__class__ $s.replaceAll("(b)", "<$1>")')
    >>> t.render({"s": "abc"})
    '{a=1} 1  a<b>c'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from airspeed import operators as av  # type: ignore[import-untyped, unused-ignore]  # airspeed is untyped

from .java import call_method, java_arith, java_compare, java_equals, java_str, methods_for
from .vtl_compile import Compiled, compile_tree

__all__ = [
    "FOREACH_LIMIT",
    "Template",
    "TemplateAbort",
    "TemplateFailed",
    "VtlObject",
    "compile_deferred",
    "compile_template",
    "set_variable",
    "truth",
]

#: API Gateway quota: iterations of one ``#foreach``.
FOREACH_LIMIT = 1000


class TemplateFailed(Exception):  # noqa: N818 - reads as the outcome it reports
    """A template failed to parse or to render; the gateway answers 500 Internal server error."""


class TemplateAbort(Exception):  # noqa: N818
    """Base of errors a template variable raises to end the request with its own answer.

    ``render`` re-raises these as they are (airspeed wraps everything in TemplateExecutionError),
    e.g. ``$input.json`` over a body that is not JSON answers 400, not 500.
    """


class VtlObject:
    """Base of objects handed to templates (``$input``, ``$util``): only ``vtl_members`` are visible.

    Example:
        >>> class Box(VtlObject):
        ...     vtl_members = frozenset({"size"})
        ...     def size(self): return 3
        >>> compile_template("$b.size() $b.vtl_members").render({"b": Box()})
        '3 '
    """

    __slots__ = ()
    vtl_members: ClassVar[frozenset[str]] = frozenset()

    def vtl_get(self, name: str) -> Any:
        """The member ``name`` (a value, or a bound method to call), or None when not exposed."""
        if name in self.vtl_members:
            return getattr(self, name)
        return None


def _member(obj: Any, name: str) -> Any:
    """``$obj.name`` without parentheses: a map key, an exposed member, or a Java getter."""
    if isinstance(obj, dict):
        try:
            return obj[name]
        except KeyError:
            return None
    if isinstance(obj, VtlObject):
        value = obj.vtl_get(name)
        return None if callable(value) else value
    table = methods_for(obj)
    if table is not None and name:  # Velocity tries getName() / isName() on beans
        cap = name[0].upper() + name[1:]
        for getter in ("get" + cap, "is" + cap):
            if getter in table:
                return table[getter](obj)
    return None


def _invoke(obj: Any, name: str, args: Sequence[Any]) -> Any:
    """``$obj.name(args)``: an exposed method of a VtlObject or a Java method of a plain value."""
    if isinstance(obj, VtlObject):
        method = obj.vtl_get(name)
        return method(*args) if callable(method) else None
    if obj is None:
        return None
    return call_method(obj, name, args)


class _Member(av.NameOrCall):  # type: ignore[misc]  # airspeed is untyped
    """``NameOrCall`` resolved through the fence instead of ``getattr``."""

    def calculate(self, current_object: Any, loader: Any, top_namespace: Any) -> Any:
        name = self.name
        if isinstance(current_object, av.LocalNamespace):
            try:
                result = current_object[name]
            except KeyError:
                result = None
            if isinstance(result, av._FunctionDefinition):  # a #define block called as $name()
                return super().calculate(current_object, loader, top_namespace)
        elif self.parameters is not None:
            args = self.parameters.calculate(top_namespace, loader)
            return _invoke(current_object, name, args)
        else:
            result = _member(current_object, name)
        if self.parameters is not None:  # a top-level name called like a function
            return None
        if self.index is not None:
            key = self.index.calculate(top_namespace, loader)
            return _index(result, key)
        return result


def _index(container: Any, key: Any) -> Any:
    if isinstance(container, list) and isinstance(key, int) and not isinstance(key, bool):
        return container[key] if -len(container) <= key < len(container) else None
    if isinstance(container, dict):
        try:
            return container[key]
        except (KeyError, TypeError):
            return None
    return None


class _SubExpression(av.SubExpression):  # type: ignore[misc]  # airspeed is untyped
    """``$a.b[0]``: indexing that cannot reach anything but list items and map values."""

    def calculate(self, current_object: Any, loader: Any, global_namespace: Any) -> Any:
        if not isinstance(self.expression, av.ArrayIndex):
            return self.expression.calculate(current_object, loader, global_namespace)
        result = _index(current_object, self.expression.calculate(current_object, loader))
        if self.subexpression:
            result = self.subexpression.calculate(result, loader, global_namespace)
        return result


class _Reference(av.FormalReference):  # type: ignore[misc]  # airspeed is untyped
    """``$ref`` printed as Java's ``String.valueOf`` (maps ``{a=1}``, doubles ``1.0E20``)."""

    def evaluate_raw(self, stream: Any, namespace: Any, loader: Any) -> None:
        if self.expression is None:  # `$1`, `$ ` and the like are text in Velocity
            stream.write(self.my_text())
            return
        value = self.expression.calculate(namespace, loader)
        if value is None and self.alternate is not None:
            value = self.alternate.calculate(namespace, loader)
        if value is None:
            return  # API Gateway renders an undefined or null reference as nothing (quiet)
        stream.write(java_str(value))


def truth(value: Any) -> bool:
    """Velocity 1.7's truth: null is false, a Boolean is itself, anything else is true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return True


class _Condition(av.Condition):  # type: ignore[misc]  # airspeed is untyped
    def calculate(self, namespace: Any, loader: Any) -> bool:
        return truth(self.expression.calculate(namespace, loader))


def set_variable(namespace: Any, name: str, value: Any) -> None:
    """``#set($name = value)``: the nearest scope that has ``name``, else the template's outermost scope.

    Velocity 1.7 has one context per render: ``#set`` inside a ``#foreach`` or a macro body writes it,
    so ``#foreach($i in [1, 2])#set($x = $i)#end$x`` prints 2 (``velocimacro.context.localscope`` is
    false by default, so a macro's ``#set`` outlives the call too). What Velocity keeps apart is only
    what a loop or a call binds itself: the loop variable and ``$foreach`` (restored when the loop
    ends), and a macro's arguments. Those live in airspeed's inner ``LocalNamespace`` scopes, so a
    name one of them holds is set there, and any other name in the outermost scope. airspeed's own
    ``set_inherited`` would set a new name in the innermost scope, lost when the iteration ends.
    """
    scope = namespace
    while True:
        if name in scope:  # dict's own keys: this scope's names, not its parents'
            scope[name] = value
            return
        parent = scope.parent
        if not isinstance(parent, av.LocalNamespace):
            scope[name] = value  # the render's outermost scope (its parent holds the variables)
            return
        scope = parent


class _Assignment(av.Assignment):  # type: ignore[misc]  # airspeed is untyped
    """``#set``: a plain name goes through ``set_variable`` (Velocity's one context)."""

    def evaluate_raw(self, stream: Any, namespace: Any, loader: Any) -> None:
        if self.terms:
            super().evaluate_raw(stream, namespace, loader)
            return
        set_variable(namespace, self.root_term, self.value.calculate(namespace, loader))


class _Define(av.DefineDefinition):  # type: ignore[misc]  # airspeed is untyped
    """``#define($name)``: the block goes where ``#set`` would put ``$name`` (Velocity's ``Define``
    puts it in the context as ``#set`` does, so one defined inside ``#foreach`` outlives the loop)."""

    def evaluate_raw(self, stream: Any, namespace: Any, loader: Any) -> None:
        set_variable(namespace, self.function_name, self)


class _Not(av.UnaryOperatorValue):  # type: ignore[misc]  # airspeed is untyped
    def calculate(self, namespace: Any, loader: Any) -> bool:
        return not truth(self.value.calculate(namespace, loader))


def foreach_items(value: Any, var: str) -> list[Any] | None:
    """What ``#foreach($var in value)`` walks: a list's items, a map's keys or a range, at most
    FOREACH_LIMIT of them; None (no iteration) for null. Both render paths call this."""
    if value is None:
        return None
    if isinstance(value, dict):
        return list(value.keys())[:FOREACH_LIMIT]
    if isinstance(value, list | tuple | range):
        return list(value[:FOREACH_LIMIT])
    raise ValueError(f"value for ${var} is not iterable in #foreach")


def foreach_scopes(namespace: Any, items: list[Any], var: str) -> Iterator[Any]:
    """One scope per ``#foreach`` iteration: the loop variable, ``$velocityCount``,
    ``$velocityHasNext`` and ``$foreach``, over ``namespace``. Both render paths call this."""
    length = len(items)
    for counter, item in enumerate(items, start=1):
        local = av.LocalNamespace(namespace)
        local["velocityCount"] = counter
        local["velocityHasNext"] = counter < length
        local["foreach"] = {
            "count": counter,
            "index": counter - 1,
            "hasNext": counter < length,
            "first": counter == 1,
            "last": counter == length,
        }
        local[var] = item
        yield local


class _Foreach(av.ForeachDirective):  # type: ignore[misc]  # airspeed is untyped
    """``#foreach`` over lists, map keys and ranges, at most FOREACH_LIMIT times."""

    def evaluate_raw(self, stream: Any, namespace: Any, loader: Any) -> None:
        items = foreach_items(self.value.calculate(namespace, loader), self.loop_var_name)
        if items is None:
            return
        for local in foreach_scopes(namespace, items, self.loop_var_name):
            self.block.evaluate(stream, local, loader)


class _Evaluate(av.EvaluateDirective):  # type: ignore[misc]  # airspeed is untyped
    """``#evaluate($text)``: the text is compiled behind the same fence."""

    def evaluate_raw(self, stream: Any, namespace: Any, loader: Any) -> None:
        text = self.value.calculate(namespace, loader)
        compile_template(java_str(text))._body.evaluate(stream, namespace, loader)


class _Return(av.ReturnDirective):  # type: ignore[misc]  # airspeed is untyped
    def evaluate_raw(self, stream: Any, namespace: Any, loader: Any) -> None:
        stream.write(java_str(self.value.calculate(namespace, loader)))


_RECLASS: dict[type, type] = {
    av.NameOrCall: _Member,
    av.SubExpression: _SubExpression,
    av.FormalReference: _Reference,
    av.ForeachDirective: _Foreach,
    av.Condition: _Condition,
    av.UnaryOperatorValue: _Not,
    av.EvaluateDirective: _Evaluate,
    av.ReturnDirective: _Return,
    av.Assignment: _Assignment,
    av.DefineDefinition: _Define,
}
_NOT_EQUAL: Callable[[Any, Any], bool] = lambda a, b: not java_equals(a, b)  # noqa: E731
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": java_equals,
    "eq": java_equals,
    "!=": _NOT_EQUAL,
    "ne": _NOT_EQUAL,
    "&&": lambda a, b: truth(a) and truth(b),
    "and": lambda a, b: truth(a) and truth(b),
    "||": lambda a, b: truth(a) or truth(b),
    "or": lambda a, b: truth(a) or truth(b),
    **{op: java_arith(op) for op in "+-*/%"},
    **{op: java_compare(symbol) for symbol, names in (("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge"))
       for op in (symbol, names)},
}


def _harden(element: Any, seen: set[int]) -> None:
    """Re-class the parsed tree's elements (iteratively: templates can nest deeply)."""
    stack = [element]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, av._Element):
            replacement = _RECLASS.get(type(node))
            if replacement is not None:
                node.__class__ = replacement
            elif type(node) is av.ElseifBlock:
                # ElseifBlock.parse bound `self.calculate = self.condition.calculate` before the
                # condition was re-classed: bind it again, or `#elseif` keeps airspeed's truth (where
                # null is true). Velocity's ASTElseIfStatement evaluates its condition as #if does.
                if type(node.condition) is av.Condition:
                    node.condition.__class__ = _Condition
                node.calculate = node.condition.calculate
            elif type(node) is av.BinaryOperator:
                op = node.my_text().strip()
                if op in _OPERATORS:
                    node.apply_to = _OPERATORS[op]
            stack.extend(vars(node).values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(getattr(node, "__self__", None), av._Element):
            # ParenthesizedExpression and friends keep their child only as `self.calculate = child.calculate`
            stack.append(node.__self__)


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled mapping template. ``render`` never raises anything but TemplateFailed."""

    text: str
    _body: Any = field(repr=False)
    #: the output, when the text has no reference and no directive (no ``$``, no ``#``): such text
    #: renders as itself, so it is not interpreted on every request (the seed's response template)
    static: str | None = None
    #: the body as closures (``vtl_compile.py``); None keeps the tree walk
    _compiled: Compiled | None = field(default=None, repr=False, compare=False)

    def render(self, variables: Mapping[str, Any]) -> str:
        """Render with ``variables`` as the top-level names (``input``, ``util``, ``context``, ...)."""
        if self.static is not None:
            return self.static
        if self._compiled is not None:
            try:
                return self._compiled.render(variables)
            except TemplateAbort:
                raise
            except av.TemplateExecutionError as exc:  # from a part #evaluate ran in the tree walk
                raise TemplateFailed(_cause(exc)) from exc
            except Exception as exc:  # as the tree walk's wrapping words it (see _cause)
                raise TemplateFailed(f"{type(exc).__name__}: {exc}") from exc
        if isinstance(self._body, str):  # did not parse: API Gateway fails the call, not the deploy
            raise TemplateFailed(self._body)
        stream = av.StoppableStream()
        try:
            self._body.evaluate(stream, av.LocalNamespace(dict(variables)), av.NullLoader())
        except av.TemplateExecutionError as exc:
            raise TemplateFailed(_cause(exc)) from exc
        except (RecursionError, MemoryError, av.TemplateError) as exc:
            raise TemplateFailed(str(exc) or type(exc).__name__) from exc
        return str(stream.getvalue())


def _cause(exc: av.TemplateExecutionError) -> str:
    inner: BaseException = exc
    while isinstance(inner, av.TemplateExecutionError) and inner.__cause__ is not None:
        inner = inner.__cause__
    if isinstance(inner, TemplateAbort):
        raise inner
    return f"{type(inner).__name__}: {inner}"


def compile_deferred(text: str) -> Template:
    """Like compile_template, but a syntax error surfaces when the template is rendered.

    API Gateway accepts any template text at deploy time and fails the request that uses it.

    Example:
        >>> compile_deferred("#foreach($a in").render({})
        Traceback (most recent call last):
        ...
        asyncgate.local.gateway.vtl.TemplateFailed: Invalid mapping template: ...
    """
    try:
        return compile_template(text)
    except TemplateFailed as exc:
        return Template(text, str(exc))


def compile_template(text: str) -> Template:
    """Parse and fence a template once; raises TemplateFailed on a syntax error.

    Example:
        >>> compile_template("#foreach($i in [1..5000])x#end").render({}).count("x")
        1000
    """
    try:
        body = av.TemplateBody("<mapping template>", text)
    except (av.TemplateError, RecursionError) as exc:
        raise TemplateFailed(f"Invalid mapping template: {exc}") from exc
    except Exception as exc:  # airspeed's parser has crashes of its own on bad text:
        # e.g. `#if($a not $b)`: BinaryOperator.parse looks "not" up in its OPERATORS and raises
        # KeyError. Any text is a template to API Gateway; this one fails the requests that use it
        raise TemplateFailed(f"Invalid mapping template: {type(exc).__name__}: {exc}") from exc
    _harden(body, set())
    static = text if "$" not in text and "#" not in text else None
    return Template(text, body, static, compile_tree(body))
