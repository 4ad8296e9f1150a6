"""The resource tree of a REST API, compiled once at load, and its matching rules.

API Gateway matches a request path segment by segment: a literal path part wins over ``{param}``,
which wins over the greedy ``{proxy+}`` (which takes one or more segments). Then the method: the
exact HTTP method, else ``ANY``. Both misses answer 403 "Missing Authentication Token"; the router
says which of the two it was, for the log.

Example:
    >>> router = Router.build([("/", "GET", "root"), ("/pets/{id}", "GET", "pet"), ("/{proxy+}", "ANY", "p")])
    >>> router.match("GET", "/pets/7")
    RouteMatch(target='pet', resource_path='/pets/{id}', path_params={'id': '7'})
    >>> router.match("POST", "/a/b").path_params
    {'proxy': 'a/b'}
    >>> router.match("POST", "/pets/7")
    RouteMiss(reason='method POST not defined on /pets/{id}')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["RouteMatch", "RouteMiss", "Router"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RouteMatch(Generic[T]):
    """The method found for a request, its resource path and the path parameters (decoded)."""

    target: T
    resource_path: str
    path_params: dict[str, str]


@dataclass(frozen=True, slots=True)
class RouteMiss:
    """No resource, or no method on the resource: both are 403 Missing Authentication Token."""

    reason: str


@dataclass(slots=True)
class _Node(Generic[T]):
    resource_path: str
    literals: dict[str, _Node[T]] = field(default_factory=dict)
    param: tuple[str, _Node[T]] | None = None
    greedy: tuple[str, _Node[T]] | None = None
    methods: dict[str, T] = field(default_factory=dict)


def _child(node: _Node[Any], part: str) -> _Node[Any]:
    path = node.resource_path.rstrip("/") + "/" + part
    if part.startswith("{") and part.endswith("+}"):
        if node.greedy is None:
            node.greedy = (part[1:-2], _Node(path))
        return node.greedy[1]
    if part.startswith("{") and part.endswith("}"):
        if node.param is None:
            node.param = (part[1:-1], _Node(path))
        return node.param[1]
    return node.literals.setdefault(part, _Node(path))


@dataclass(frozen=True, slots=True)
class Router(Generic[T]):
    """A compiled resource tree; ``match`` walks it without allocating more than the params."""

    _root: _Node[T]

    @classmethod
    def build(cls, routes: Iterable[tuple[str, str, T]]) -> Router[T]:
        """Compile ``(resource_path, http_method, target)`` triples (``ANY`` allowed as method)."""
        root: _Node[T] = _Node("/")
        for resource_path, method, target in routes:
            node = root
            for part in (p for p in resource_path.split("/") if p):
                node = _child(node, part)
            node.methods[method.upper()] = target
        return cls(root)

    def match(self, method: str, path: str) -> RouteMatch[T] | RouteMiss:
        """Find the method for ``method path`` (``path`` starts with ``/``, after the stage)."""
        segments = [s for s in path.split("/") if s]
        params: dict[str, str] = {}
        node = _walk(self._root, segments, 0, params)
        if node is None:
            return RouteMiss(f"no resource matches {path}")
        target = node.methods.get(method.upper())
        if target is None:
            target = node.methods.get("ANY")
        if target is None:
            return RouteMiss(f"method {method.upper()} not defined on {node.resource_path}")
        return RouteMatch(target, node.resource_path, params)


def _walk(node: _Node[T], segments: list[str], i: int, params: dict[str, str]) -> _Node[T] | None:
    if i == len(segments):
        return node if node.methods else None
    seg = segments[i]
    child = node.literals.get(seg)
    if child is not None:
        found = _walk(child, segments, i + 1, params)
        if found is not None:
            return found
    if node.param is not None:
        name, child = node.param
        found = _walk(child, segments, i + 1, params)
        if found is not None:
            params[name] = seg
            return found
    if node.greedy is not None and node.greedy[1].methods:
        name, child = node.greedy
        params[name] = "/".join(segments[i:])
        return child
    return None
