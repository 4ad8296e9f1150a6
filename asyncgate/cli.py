"""The ``asyncgate`` command: ``synth``, ``up``, ``logs``, ``executions``, ``history``.

Examples:
    asyncgate up .                      # synthesize ./cdk.json's app (if changed) and serve it on :4566
    asyncgate up --assembly cdk.out     # serve an existing cloud assembly as it is
    asyncgate logs /aws/lambda/sample-func --follow
    asyncgate executions --state-machine sample   # recent executions, status and duration
    asyncgate history arn:aws:states:us-east-1:000000000000:execution:m:e   # one history as a table
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import logging
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566

log = logging.getLogger("asyncgate")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asyncgate", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="synthesize a CDK app into its cdk.out (if it changed)")
    synth.add_argument("app_dir", nargs="?", default=".", type=Path)
    synth.add_argument("--force", action="store_true", help="synthesize even if nothing changed")

    up = commands.add_parser("up", help="serve a CDK app (or a cloud assembly) locally")
    up.add_argument("app_dir", nargs="?", default=".", type=Path, help="folder with cdk.json")
    up.add_argument("--assembly", type=Path, help="serve this cdk.out as it is (no synth)")
    up.add_argument("--host", default=DEFAULT_HOST)
    up.add_argument("--port", type=int, default=DEFAULT_PORT)
    up.add_argument("--data-dir", type=Path,
                    help="where every server state lives (default APP_DIR/.asyncgate)")
    up.add_argument("--time-scale", type=float, default=1.0,
                    help="run Waits, back-offs and timeouts N times faster (tests)")
    up.add_argument("--express-worker", action=argparse.BooleanOptionalAction, default=True,
                    help="run Lambda-only Express executions in a second process (default: on; "
                         "off with --time-scale)")
    up.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])

    logs = commands.add_parser("logs", help="print a log group's events (CloudWatch Logs on the server)")
    logs.add_argument("group")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    logs.add_argument("--endpoint", default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}")
    logs.add_argument("--since", type=float, default=0, help="only events of the last N seconds")

    from asyncgate.executions_cli import add_parsers

    add_parsers(commands, f"http://{DEFAULT_HOST}:{DEFAULT_PORT}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``asyncgate`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "synth":
            return _synth(args)
        if args.command == "up":
            return _up(args)
        if args.command in ("executions", "history"):
            from asyncgate.executions_cli import run

            return run(args)
        return _logs(args)
    except KeyboardInterrupt:
        return 130


def _synth(args: argparse.Namespace) -> int:
    from asyncgate.synth import SynthError, synthesize

    try:
        out = synthesize(args.app_dir.resolve(), force=args.force)
    except SynthError as exc:
        print(f"asyncgate: synth failed: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


def _up(args: argparse.Namespace) -> int:
    import uvicorn

    from asyncgate.local.assembly import AssemblyError, load_assembly
    from asyncgate.local.http_protocol import CoalescingProtocol
    from asyncgate.local.runtime import Runtime
    from asyncgate.local.server import create_app
    from asyncgate.local.store import StoreError
    from asyncgate.synth import SynthError, synthesize

    logging.basicConfig(level=args.log_level.upper(), format="asyncgate: %(message)s")
    app_dir: Path = args.app_dir.resolve()
    if args.assembly is not None:
        assembly_dir = args.assembly.resolve()
        if not (assembly_dir / "manifest.json").is_file():
            print(f"asyncgate: {assembly_dir} is not a cloud assembly (no manifest.json)", file=sys.stderr)
            return 2
    else:
        if not (app_dir / "cdk.json").is_file():
            print(f"asyncgate: {app_dir} has no cdk.json (or pass --assembly cdk.out)", file=sys.stderr)
            return 2
        started = time.perf_counter()
        try:
            assembly_dir = synthesize(app_dir)
        except SynthError as exc:
            print(f"asyncgate: synth failed: {exc}", file=sys.stderr)
            return 1
        log.info("assembly %s ready in %.2f s", assembly_dir, time.perf_counter() - started)
    if not _is_loopback(args.host):
        log.warning("binding %s: the server is reachable from other machines, and it has no "
                    "authentication of its own", args.host)
    data_dir: Path = (args.data_dir or app_dir / ".asyncgate").resolve()
    endpoint = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    try:
        assembly = load_assembly(assembly_dir)
    except (AssemblyError, OSError, ValueError) as exc:  # a broken or hostile cdk.out: one line, no trace
        print(f"asyncgate: cannot load the cloud assembly {assembly_dir}: {exc}", file=sys.stderr)
        return 1
    try:
        runtime = Runtime(assembly, data_dir, time_scale=args.time_scale, endpoint_url=endpoint,
                          express_worker=args.express_worker)
    except (StoreError, OSError) as exc:  # read-only, full or corrupt: refuse before serving anything
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"asyncgate: cannot use data directory {data_dir}: {reason}", file=sys.stderr)
        return 1

    def ready() -> None:
        # What start-up built (the assembly, compiled templates and definitions, imported modules)
        # lives as long as the server: out of the collector's reach, a full collection no longer walks
        # it, and the pauses those walks put into the latency tail go (intake p99 at 32 connections,
        # three interleaved runs each: 44-59 ms before, 27-33 ms after)
        gc.collect()
        gc.freeze()
        for endpoint in runtime.endpoints:
            log.info("%s (%s) stage %s: %s", endpoint.name, endpoint.rest_api_id, endpoint.stage,
                     endpoint.url(args.host, args.port))
        log.info("serving on http://%s:%d (data in %s)", args.host, args.port, data_dir)

    app = create_app(runtime, host=args.host, port=args.port, on_ready=ready)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on",
                            access_log=False, proxy_headers=False, http=CoalescingProtocol)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _logs(args: argparse.Namespace) -> int:
    start = int((time.time() - args.since) * 1000) if args.since else 0
    seen: set[str] = set()
    while True:
        token: str | None = None
        while True:
            request: dict[str, Any] = {"logGroupName": args.group, "startTime": start}
            if token:
                request["nextToken"] = token
            try:
                page = _call_logs(args.endpoint, "FilterLogEvents", request)
            except RuntimeError as exc:
                print(f"asyncgate: {exc}", file=sys.stderr)
                return 1
            for event in page.get("events", []):
                if event["eventId"] in seen:
                    continue
                seen.add(event["eventId"])
                when = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
                stamp = when.isoformat(timespec="milliseconds")
                print(f"{stamp} {event['logStreamName']} {event['message'].rstrip()}", flush=True)
                start = max(start, event["timestamp"])
            token = page.get("nextToken")
            if not token:
                break
        if not args.follow:
            return 0
        time.sleep(1.0)


def _call_logs(endpoint: str, action: str, request: dict[str, Any]) -> dict[str, Any]:
    http_request = urllib.request.Request(
        endpoint.rstrip("/") + "/",
        data=json.dumps(request).encode(),
        headers={"X-Amz-Target": f"Logs_20140328.{action}", "Content-Type": "application/x-amz-json-1.1"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http_request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as exc:
        error = json.loads(exc.read() or b"{}")
        raise RuntimeError(f"{error.get('__type', exc.code)}: {error.get('message', '')}") from None
    except urllib.error.URLError as exc:
        raise RuntimeError(f"cannot reach {endpoint}: {exc.reason}") from None


if __name__ == "__main__":
    sys.exit(main())
