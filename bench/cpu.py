"""CPU time per process of a running server tree, read from /proc: where a webhook's cost lands.

``asyncgate up`` is several processes (the server, its Express worker, the Lambda workers they
start); a req/s figure alone cannot say which one bounds it. ``Split`` reads each process's user+system
time before and after a run, and this process's own (the load generator) beside them.

Example:
    >>> import os
    >>> sorted(kinds(os.getpid())) == [os.getpid()]
    True
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Split", "kinds"]

_HZ = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu_s(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _HZ if fields else 0.0


def kinds(root: int) -> dict[int, str]:
    """``root`` and its descendants, each named by what it is."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields:
            parents[int(entry.name)] = (int(fields[1]), cmdline)
    tree = {root: "server"}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, cmdline) in parents.items():
            if ppid in tree and pid not in tree:
                tree[pid] = "Express worker" if "express_worker" in cmdline else "Lambda workers"
                grew = True
    return tree


@dataclass
class Split:
    """CPU seconds per kind of process over one run (``start()`` ... ``stop()``)."""

    root: int
    seconds: dict[str, float] = field(default_factory=dict)
    _before: dict[int, float] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)
    _own: float = 0.0
    _wall: float = 0.0

    def start(self) -> None:
        self._names = kinds(self.root)
        self._before = {pid: _cpu_s(pid) for pid in self._names}
        self._own = time.process_time()
        self._wall = time.perf_counter()

    def stop(self) -> None:
        self._wall = time.perf_counter() - self._wall
        for pid, name in kinds(self.root).items():  # processes started during the run count from 0
            used = _cpu_s(pid) - self._before.get(pid, 0.0)
            self.seconds[name] = self.seconds.get(name, 0.0) + used
        self.seconds["load generator"] = time.process_time() - self._own

    def rows(self, requests: int) -> list[dict[str, float | str]]:
        """Per kind: share of one core over the run, and CPU µs per request."""
        return [
            {"process": name, "cores": used / self._wall, "us_per_request": used / requests * 1e6}
            for name, used in self.seconds.items()
        ]
