"""Deployed stages of a REST API: variables, canary, access log setting and method throttles.

Example:
    >>> limits = {("*", "*"): Throttle(10.0, 5), ("/pets", "GET"): Throttle(1.0, 1)}
    >>> stage = Stage("main", {}, "d1", throttles=limits)
    >>> stage.throttle("/pets", "GET"), stage.throttle("/toys", "POST")
    (Throttle(rate=1.0, burst=1), Throttle(rate=10.0, burst=5))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..assembly import Stack
from .access_log import AccessLog
from .throttling import Throttle

__all__ = ["Canary", "Stage", "build_stages"]


@dataclass(frozen=True, slots=True)
class Canary:
    """A stage's ``CanarySetting``: the share of traffic it takes and its stage variable overrides."""

    percent_traffic: float
    variable_overrides: dict[str, str]
    deployment_id: str


@dataclass(frozen=True, slots=True)
class Stage:
    """A deployed stage: its name and stage variables, and its canary if it has one."""

    name: str
    variables: dict[str, str]
    deployment_id: str
    canary: Canary | None = None
    #: ``AccessLogSetting`` with a log group destination
    access_log: AccessLog | None = None
    #: ``MethodSettings`` throttling: ``(resource path | "*", METHOD | "*")`` -> limits
    throttles: dict[tuple[str, str], Throttle] = field(default_factory=dict)

    def throttle(self, resource_path: str, method: str) -> Throttle | None:
        """The stage's throttle for a method: its own setting, else the resource's, else ``/*/*``."""
        if not self.throttles:
            return None
        table = self.throttles
        return (
            table.get((resource_path, method))
            or table.get((resource_path, "*"))
            or table.get(("*", method))
            or table.get(("*", "*"))
        )


def _canary(raw: Any) -> Canary | None:
    if not isinstance(raw, dict):
        return None
    return Canary(
        percent_traffic=float(raw.get("PercentTraffic") or 0.0),
        variable_overrides={str(k): str(v) for k, v in (raw.get("StageVariableOverrides") or {}).items()},
        deployment_id=str(raw.get("DeploymentId") or ""),
    )


def _throttles(raw: Any) -> dict[tuple[str, str], Throttle]:
    """``MethodSettings`` throttling; ``ResourcePath`` is ``/*`` or ``/~1pets~1{id}`` (``/`` as ``~1``)."""
    out: dict[tuple[str, str], Throttle] = {}
    for setting in raw if isinstance(raw, list) else []:
        if "ThrottlingRateLimit" not in setting and "ThrottlingBurstLimit" not in setting:
            continue
        path = str(setting.get("ResourcePath") or "/*")
        path = "*" if path == "/*" else "/" + path.removeprefix("/").replace("~1", "/").lstrip("/")
        rate = float(setting.get("ThrottlingRateLimit", 10_000))
        burst = int(setting.get("ThrottlingBurstLimit", 5_000))
        out[(path, str(setting.get("HttpMethod") or "*").upper())] = Throttle(rate, burst)
    return out


def build_stages(api_id: str, stack: Stack) -> tuple[Stage, ...]:
    """The API's deployed stages (``AWS::ApiGateway::Stage``, or a ``Deployment`` with ``StageName``)."""
    stages = [
        Stage(
            name=str(r.properties.get("StageName", "")),
            variables={str(k): str(v) for k, v in (r.properties.get("Variables") or {}).items()},
            deployment_id=str(r.properties.get("DeploymentId", "")),
            canary=_canary(r.properties.get("CanarySetting")),
            access_log=AccessLog.parse(r.properties.get("AccessLogSetting")),
            throttles=_throttles(r.properties.get("MethodSettings")),
        )
        for r in stack.of_type("AWS::ApiGateway::Stage")
        if r.properties.get("RestApiId") == api_id
    ]
    for dep in stack.of_type("AWS::ApiGateway::Deployment"):  # the older `Deployment.StageName` form
        name = dep.properties.get("StageName")
        if dep.properties.get("RestApiId") == api_id and name and all(s.name != name for s in stages):
            stages.append(Stage(str(name), {}, dep.physical_id))
    return tuple(stages)
