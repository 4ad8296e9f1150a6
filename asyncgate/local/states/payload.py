"""Payload templates (Parameters, ResultSelector, ItemSelector) compiled once into render closures.

The spec: "a field whose name ends with ``.$`` ... its value is a Path (or an intrinsic function call)
and the field in the output has the name without ``.$`` and the value the path selects". Paths may be
``$...`` (the input; the task result for ResultSelector), ``$$...`` (the context object) or
``$name...`` (a variable). Everything else is copied; objects and arrays are recursed into.

Rendering builds fresh containers for the template's own objects and arrays; values taken from the
input by a path are shared, not copied (documents are treated as immutable by the engine).

Errors: a path that matches nothing is ``States.Runtime`` with AWS's recorded cause ("The JSONPath
'$.x' specified for the field 'value.$' could not be found in the input '{...}'"); the engine prefixes
"An error occurred while executing the state ...". A malformed ``.$`` value raises ``InvalidPayload``
at compile time, whose message is AWS's SCHEMA_VALIDATION_FAILED text for it (corpus:
``test_illegal_escapes``) and whose ``pointer`` locates it inside the template.

Example:
    >>> p = compile_payload({"id.$": "$.order.id", "n": 1, "msg.$": "States.Format('#{}', $.order.id)"})
    >>> p.render(Scope(input={"order": {"id": 7}}))
    {'id': 7, 'n': 1, 'msg': '#7'}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .intrinsics import compile_intrinsic, is_intrinsic, path_not_found
from .jsonpath import PathNotFound, compile_path
from .scope import Scope

__all__ = ["InvalidPayload", "Payload", "compile_payload"]

Render = Callable[[Scope], Any]


class InvalidPayload(ValueError):  # noqa: N818 - reads as AWS's InvalidDefinition
    """A template AWS would reject at CreateStateMachine.

    ``str(e)`` is AWS's message; ``pointer`` is where, relative to the template (``""`` = its root,
    ``/a/0`` = key ``a``, item 0); ``reason`` says what exactly was wrong. The engine renders
    ``SCHEMA_VALIDATION_FAILED: {e} at /States/<name>/Parameters{e.pointer}``.

    Example:
        >>> try:
        ...     compile_payload({"a": {"x.$": "nope"}})
        ... except InvalidPayload as e:
        ...     print(e, "|", e.pointer)
        The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call | /a
    """

    def __init__(self, field: str, pointer: str, reason: str) -> None:
        super().__init__(
            f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
        )
        self.field = field
        self.pointer = pointer
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Payload:
    """A compiled template. ``render(scope)`` builds the value; ``template`` is the original JSON.

    Example:
        >>> compile_payload({"ids.$": "$.items[*].id"}).render(Scope(input={"items": [{"id": 1}]}))
        {'ids': [1]}
    """

    template: Any
    _render: Render

    def render(self, scope: Scope) -> Any:
        """The template's value in ``scope``; raises StatesError (States.Runtime / IntrinsicFailure)."""
        return self._render(scope)


def compile_payload(template: Any) -> Payload:
    """Compile a Parameters / ResultSelector / ItemSelector template; InvalidPayload if malformed."""
    return Payload(template, _compile(template, ""))


def _compile(node: Any, pointer: str) -> Render:
    if isinstance(node, dict):
        return _compile_object(node, pointer)
    if isinstance(node, list):
        items = tuple(_compile(v, f"{pointer}/{i}") for i, v in enumerate(node))
        return lambda scope: [item(scope) for item in items]
    return lambda scope: node


def _compile_object(node: dict[str, Any], pointer: str) -> Render:
    fields: list[tuple[str, Render]] = []
    for key, value in node.items():
        if key.endswith(".$"):
            fields.append((key[:-2], _compile_dynamic(key, value, pointer)))
        else:
            fields.append((key, _compile(value, f"{pointer}/{key}")))
    compiled = tuple(fields)
    return lambda scope: {k: r(scope) for k, r in compiled}


def _compile_dynamic(key: str, value: Any, pointer: str) -> Render:
    if not isinstance(value, str):
        raise InvalidPayload(key, pointer, "the value of a '.$' field must be a string")
    text = value
    if text.startswith("$"):
        try:
            path = compile_path(text)
        except ValueError as exc:
            raise InvalidPayload(key, pointer, str(exc)) from None

        def render_path(scope: Scope) -> Any:
            try:
                return path.resolve(scope)
            except PathNotFound:
                raise path_not_found(text, key, scope) from None

        return render_path
    if is_intrinsic(text):
        try:
            call = compile_intrinsic(text, key)
        except ValueError as exc:
            raise InvalidPayload(key, pointer, str(exc)) from None
        return call.evaluate
    raise InvalidPayload(key, pointer, "not a path ('$...') nor an intrinsic call ('States....')")
