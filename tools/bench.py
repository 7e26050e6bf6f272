"""``make bench``: the orchestrator's speed against its targets, in one bounded run.

Measured on loopback, with the mock provider healthy (no faults, no added latency):

1. **Added latency**: p50/p95/p99 of sequential requests on one keep-alive connection,
   to the mock directly and through the orchestrator, interleaved request by request so
   the client's overhead and the machine's drift are the same for both.
2. **Throughput** at 32 connections for a fixed time: the orchestrator against a minimal
   aiohttp pass-through proxy (``tools.passthrough_proxy``), each pinned to one core,
   with the mock and the load generator (``wrk``, else ``tools.loadgen``) on the other.
   The mock alone is measured the same way, and every process's CPU time is read from
   ``/proc``: when the proxy does not use its whole core, the mock or the load generator
   capped the run and the request-rate ratio flatters the slower server; CPU-seconds per
   request is then the fair comparison, so both are reported.
3. **Start-up time** (spawn to the first 200 on ``/health``) and **idle memory** (VmRSS
   right after start-up) of the orchestrator.

Prints a table with each target and PASS/MISS and writes ``.bench/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tools.bench_measure import (
    combined,
    compare_throughput,
    measure_latency,
    measure_startup,
    measure_throughput,
)
from tools.bench_processes import (
    REPO_ROOT,
    Service,
    ServiceError,
    rss_mb,
    start_service,
)
from tools.bench_report import checks_from, render_report
from tools.bench_settings import MOCK_ARGS, QUICK, REQUEST_BODY, BenchSettings
from tools.loadgen import (
    LoadError,
    find_load_generator,
)


@contextlib.contextmanager
def stopped_at_exit() -> Iterator[list[Service]]:
    services: list[Service] = []
    try:
        yield services
    finally:
        for service in reversed(services):
            service.stop()


def run_bench(settings: BenchSettings, install_wrk: bool) -> dict[str, Any]:
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    loadgen = find_load_generator(settings.client_core, settings.work_dir, install_wrk)
    loadgen.prepare(REQUEST_BODY)
    with stopped_at_exit() as services:
        mock = start_service(
            "mock", MOCK_ARGS, core=settings.client_core, log_dir=settings.work_dir
        )
        services.append(mock)
        print("bench: start-up time and idle memory ...", flush=True)
        startup, orchestrator = measure_startup(settings, mock)
        services.append(orchestrator)
        proxy_args = ["tools.passthrough_proxy", "--upstream", mock.url]
        proxy = start_service(
            "proxy", proxy_args, core=settings.server_core, log_dir=settings.work_dir
        )
        services.append(proxy)
        print("bench: sequential latency: mock, proxy, orchestrator ...", flush=True)
        latency = measure_latency(mock, proxy, orchestrator, settings)
        print("bench: throughput of the mock, the proxy, the orchestrator ...", flush=True)
        rounds = [
            {
                "mock": measure_throughput(mock, {"mock": mock}, loadgen, settings, first),
                "proxy": measure_throughput(
                    proxy, {"proxy": proxy, "mock": mock}, loadgen, settings, first
                ),
                "orchestrator": measure_throughput(
                    orchestrator,
                    {"orchestrator": orchestrator, "mock": mock},
                    loadgen,
                    settings,
                    first,
                ),
            }
            for first in [True] + [False] * (settings.throughput_rounds - 1)
        ]
        runs = {name: combined([r[name] for r in rounds]) for name in rounds[0]}
        startup["rss_after_load_mb"] = rss_mb(orchestrator.pid)
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {**dataclasses.asdict(settings), "output": str(settings.output)},
        "startup": startup,
        "latency": latency,
        "throughput": {
            **runs,
            "comparison": compare_throughput(runs),
            "rounds": rounds,
            "loadgen": loadgen.kind,
            "pinned": settings.server_core is not None,
        },
    }


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _parser() -> argparse.ArgumentParser:
    defaults = BenchSettings()
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description="The orchestrator's speed against its targets."
    )
    add = parser.add_argument
    add("--requests", type=int, default=defaults.latency_requests,
        help="sequential requests per target, after warm-up")  # fmt: skip
    add("--duration-s", type=float, default=defaults.throughput_duration_s,
        help="seconds of load per throughput target (wrk: whole seconds)")  # fmt: skip
    add("--connections", type=int, default=defaults.connections)
    add("--output", type=Path, default=defaults.output, help="results JSON (relative: repo)")
    add("--orchestrator-env", type=_env_pair, action="append", default=[], metavar="NAME=VALUE",
        help="extra orchestrator environment, e.g. ORCH__SERVER__LOG_LEVEL=WARNING")  # fmt: skip
    add("--quick", action="store_true", help="smoke run: 300 requests, 2 s loads (rough)")
    add("--strict", action="store_true", help="exit 1 when a target is missed")
    add("--no-install", action="store_true",
        help="never apt-get install wrk; use the Python load generator instead")  # fmt: skip
    return parser


@dataclass(frozen=True, slots=True)
class Invocation:
    settings: BenchSettings
    install_wrk: bool
    strict: bool


def parse_invocation(argv: Sequence[str] | None) -> Invocation:
    parser = _parser()
    args = parser.parse_args(argv)
    pin = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    try:
        settings = BenchSettings(
            latency_requests=args.requests,
            throughput_duration_s=args.duration_s,
            connections=args.connections,
            output=args.output,
            orchestrator_env=dict(args.orchestrator_env),
        )
        if args.quick:
            settings = dataclasses.replace(settings, **QUICK)  # type: ignore[arg-type]
        if not pin:
            settings = dataclasses.replace(settings, server_core=None, client_core=None)
    except ValueError as exc:
        parser.error(str(exc))
    return Invocation(settings, install_wrk=not args.no_install, strict=args.strict)


def main(argv: Sequence[str] | None = None) -> int:
    invocation = parse_invocation(argv)
    settings = invocation.settings
    if settings.server_core is None:
        print("bench: fewer than 2 cores or no taskset: processes are not pinned", flush=True)
    try:
        results = run_bench(settings, invocation.install_wrk)
    except (ServiceError, LoadError) as exc:
        print(f"bench: could not measure: {exc}", file=sys.stderr)
        return 2
    checks = checks_from(results)
    results["checks"] = [dataclasses.asdict(check) for check in checks]
    output = REPO_ROOT / settings.output
    output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(render_report(results, checks))
    print(f"\nresults written to {output}")
    return 1 if invocation.strict and not all(check.passed for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
