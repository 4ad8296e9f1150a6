"""Prometheus metrics of the local runtime, served at ``GET /_asyncgate/metrics``.

Why hand-written rather than ``prometheus_client``: its counters take a ``threading.Lock`` on every
``inc()`` (and its default registry collects platform metrics nobody asked for), while every counter
here moves on one thread — the server's event loop — so a plain ``+=`` is exact and costs ~50 ns.
A scrape renders on that same loop, so it never sees a half-applied update. Only the store's writer
thread is elsewhere, and nothing here is touched from it.

The registry is process-wide (``METRICS``), like ``prometheus_client.REGISTRY``: the server's modules
count into it without being handed an object, which keeps the hooks in them one line each. Several
runtimes in one process (tests) add into the same counters; compare differences, not absolutes.

Series (text exposition format 0.0.4):
    asyncgate_http_requests_total{code}                 every HTTP request answered, by status
    asyncgate_http_request_duration_seconds             histogram, request received -> response sent
    asyncgate_executions_started_total{type}            Step Functions executions begun (resumed count too)
    asyncgate_executions_completed_total{status}        ... ended: SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    asyncgate_execution_duration_seconds                histogram, startDate -> stopDate
    asyncgate_lambda_invocations_total                  Lambda invocations (any invocation type)

Example:
    >>> m = Metrics()
    >>> m.http_requests.inc("200"); m.http_duration.observe(0.0004)
    >>> print(m.render().splitlines()[2])
    asyncgate_http_requests_total{code="200"} 1
    >>> 'asyncgate_http_request_duration_seconds_bucket{le="0.0005"} 1' in m.render()
    True
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

__all__ = ["METRICS", "Counter", "Histogram", "LabeledCounter", "Metrics"]

#: Latency buckets (seconds): fine below 10 ms, where the local runtime lives; coarse above.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Counter:
    """A monotonic count, moved only from the event loop."""

    __slots__ = ("help", "name", "value")

    def __init__(self, name: str, help: str) -> None:
        self.name = name
        self.help = help
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        yield f"{self.name} {_number(self.value)}"


class LabeledCounter:
    """Counts keyed by one label's value; a value appears from its first increment on."""

    __slots__ = ("help", "label", "name", "values")

    def __init__(self, name: str, help: str, label: str) -> None:
        self.name = name
        self.help = help
        self.label = label
        self.values: dict[str, int] = {}

    def inc(self, value: str, amount: int = 1) -> None:
        values = self.values
        values[value] = values.get(value, 0) + amount

    def get(self, value: str) -> int:
        return self.values.get(value, 0)

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for value, count in sorted(self.values.items()):
            escaped = value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")
            yield f'{self.name}{{{self.label}="{escaped}"}} {count}'


class Histogram:
    """Cumulative-bucket histogram; ``observe`` is one bisect and two adds."""

    __slots__ = ("buckets", "count", "counts", "help", "name", "sum")

    def __init__(self, name: str, help: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name = name
        self.help = help
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.buckets, seconds)] += 1
        self.sum += seconds
        self.count += 1

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        running = 0
        for bound, n in zip(self.buckets, self.counts, strict=False):
            running += n
            yield f'{self.name}_bucket{{le="{bound!r}"}} {running}'
        yield f'{self.name}_bucket{{le="+Inf"}} {self.count}'
        yield f"{self.name}_sum {self.sum!r}"
        yield f"{self.name}_count {self.count}"


class Metrics:
    """Every series the runtime exposes; ``render()`` is the scrape body."""

    #: the scrape's Content-Type
    CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self.http_requests = LabeledCounter(
            "asyncgate_http_requests_total", "HTTP requests answered, by status code.", "code")
        self.http_duration = Histogram(
            "asyncgate_http_request_duration_seconds", "Time from request received to response sent.")
        self.executions_started = LabeledCounter(
            "asyncgate_executions_started_total", "Step Functions executions begun, by type.", "type")
        self.executions_completed = LabeledCounter(
            "asyncgate_executions_completed_total", "Step Functions executions ended, by status.", "status")
        self.execution_duration = Histogram(
            "asyncgate_execution_duration_seconds", "Execution startDate to stopDate.")
        self.lambda_invocations = Counter(
            "asyncgate_lambda_invocations_total", "Lambda invocations, any invocation type.")

    def render(self) -> str:
        """The text exposition of every series."""
        series = (self.http_requests, self.http_duration, self.executions_started,
                  self.executions_completed, self.execution_duration, self.lambda_invocations)
        return "\n".join(line for s in series for line in s.lines()) + "\n"


#: The process-wide registry the server's modules count into.
METRICS = Metrics()
