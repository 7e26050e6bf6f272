"""The bench's measurements: sequential latency, throughput with CPU shares, start-up."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tools.bench_processes import (
    Service,
    children_cpu_seconds,
    cpu_seconds,
    machine_busy_seconds,
    own_cpu_seconds,
    rss_mb,
    start_service,
)
from tools.bench_settings import (
    CHAT_PATH,
    REQUEST_BODY,
    SATURATED_CORE_SHARE,
    BenchSettings,
)
from tools.loadgen import (
    LoadError,
    LoadGenerator,
    percentile,
    sequential_latencies_s,
)


def latency_summary_ms(sorted_s: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(sorted_s, 0.50) * 1000.0,
        "p95_ms": percentile(sorted_s, 0.95) * 1000.0,
        "p99_ms": percentile(sorted_s, 0.99) * 1000.0,
        "mean_ms": statistics.fmean(sorted_s) * 1000.0,
    }


def measure_latency(
    mock: Service, proxy: Service, orchestrator: Service, settings: BenchSettings
) -> dict[str, Any]:
    """Mock direct vs through the orchestrator; the proxy's hop is the yardstick, as it
    shows what any aiohttp hop costs before the orchestrator does anything."""
    rounds = [
        _latency_round(mock, proxy, orchestrator, settings) for _ in range(settings.latency_rounds)
    ]
    quietest = min(rounds, key=lambda r: r["mock"]["p50_ms"])
    return {
        **quietest,
        "rounds": len(rounds),
        "p50_ms_by_round": [
            {name: r[name]["p50_ms"] for name in ("mock", "proxy", "orchestrator")}
            | {"added": r["added"]["p50_ms"], "proxy_added": r["proxy_added"]["p50_ms"]}
            for r in rounds
        ],
    }


def _latency_round(
    mock: Service, proxy: Service, orchestrator: Service, settings: BenchSettings
) -> dict[str, Any]:
    services = {"mock": mock, "proxy": proxy, "orchestrator": orchestrator}
    targets = {name: service.url + CHAT_PATH for name, service in services.items()}
    started = time.perf_counter()
    with cpu_use(services) as used:
        samples = asyncio.run(
            sequential_latencies_s(
                targets, REQUEST_BODY, settings.latency_requests, settings.latency_warmup_requests
            )
        )
    elapsed_s = time.perf_counter() - started
    summaries = {name: latency_summary_ms(values) for name, values in samples.items()}
    direct = summaries["mock"]
    # Differences of percentiles, not percentiles of differences: the samples are
    # independent requests, so this is the honest reading of "added at p50".
    added = {
        f"{name}_added": {key: summaries[name][key] - direct[key] for key in direct}
        for name in ("proxy", "orchestrator")
    }
    return {
        "requests": settings.latency_requests,
        **summaries,
        "added": added["orchestrator_added"],
        "proxy_added": added["proxy_added"],
        "other_core_share": used["other"] / elapsed_s,
    }


def measure_throughput(
    target: Service,
    watched: Mapping[str, Service],
    loadgen: LoadGenerator,
    settings: BenchSettings,
    warm_up: bool = True,
) -> dict[str, Any]:
    """Load ``target`` for the set time; the core share and CPU per request of each process."""
    url = target.url + CHAT_PATH
    if warm_up and settings.throughput_warmup_s > 0:
        # Lets the servers' upstream pools grow to full concurrency before measuring.
        loadgen.run(url, settings.connections, settings.throughput_warmup_s)
    with cpu_use(watched) as used:
        result = loadgen.run(url, settings.connections, settings.throughput_duration_s)
    if result.non_2xx or result.errors or result.requests == 0:
        raise LoadError(
            f"{target.name} under load: {result.requests} answers, {result.non_2xx} non-2xx, "
            f"{result.errors} socket errors; the bench needs healthy answers"
        )
    return {
        "requests": result.requests,
        "elapsed_s": result.elapsed_s,
        "requests_per_s": result.requests_per_s,
        "core_share": {name: cpu / result.elapsed_s for name, cpu in used.items()},
        "cpu_us_per_request": {name: cpu / result.requests * 1e6 for name, cpu in used.items()},
    }


@contextlib.contextmanager
def cpu_use(watched: Mapping[str, Service]) -> Iterator[dict[str, float]]:
    """CPU-seconds used during the block: each watched service, the load generator (a
    child waited for inside the block) and everything else on the machine ("other")."""
    used: dict[str, float] = {}
    before = {name: cpu_seconds(service.pid) for name, service in watched.items()}
    loadgen_before, own_before = children_cpu_seconds(), own_cpu_seconds()
    busy_before = machine_busy_seconds()
    yield used
    busy = machine_busy_seconds() - busy_before
    used.update({name: cpu_seconds(s.pid) - before[name] for name, s in watched.items()})
    used["loadgen"] = children_cpu_seconds() - loadgen_before
    # Other engineers' tests or builds on the same cores make every figure noisier.
    ours = sum(used.values()) + own_cpu_seconds() - own_before
    used["other"] = max(0.0, busy - ours)


def combined(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One target's runs added up: all its requests over all its seconds and CPU time."""
    requests = sum(run["requests"] for run in runs)
    elapsed_s = sum(run["elapsed_s"] for run in runs)
    cpu_s = {
        name: sum(run["core_share"][name] * run["elapsed_s"] for run in runs)
        for name in runs[0]["core_share"]
    }
    return {
        "requests": requests,
        "elapsed_s": elapsed_s,
        "requests_per_s": requests / elapsed_s,
        "core_share": {name: cpu / elapsed_s for name, cpu in cpu_s.items()},
        "cpu_us_per_request": {name: cpu / requests * 1e6 for name, cpu in cpu_s.items()},
        "runs": len(runs),
    }


def capped_by(run: Mapping[str, Any], server: str, client_side: Sequence[str]) -> str:
    """What limited a run: the server when it used (nearly) all of its core, else the
    client-side core (mock and load generator) when that was full."""
    shares = run["core_share"]
    if shares[server] >= SATURATED_CORE_SHARE:
        return server
    if sum(shares[name] for name in client_side) >= SATURATED_CORE_SHARE:
        return "+".join(client_side)
    return "no saturated core"


def compare_throughput(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    proxy, orchestrator = runs["proxy"], runs["orchestrator"]
    client_side = ("mock", "loadgen")
    return {
        "rps_ratio": orchestrator["requests_per_s"] / proxy["requests_per_s"],
        # Requests one core serves, orchestrator over proxy: holds whatever capped the runs.
        "cpu_ratio": proxy["cpu_us_per_request"]["proxy"]
        / orchestrator["cpu_us_per_request"]["orchestrator"],
        "capped_by": {
            "mock": capped_by(runs["mock"], "mock", ("loadgen",)),
            "proxy": capped_by(proxy, "proxy", client_side),
            "orchestrator": capped_by(orchestrator, "orchestrator", client_side),
        },
    }


def measure_startup(settings: BenchSettings, mock: Service) -> tuple[dict[str, Any], Service]:
    """Start the orchestrator ``startup_runs`` times; the last one stays up for the load."""
    env = {"ORCH_MOCK_BASE_URL": mock.url, **settings.orchestrator_env}
    ready_s: list[float] = []
    idle_mb: list[float] = []
    for run in range(settings.startup_runs):
        service = start_service(
            "orchestrator",
            ["orchestrator"],
            core=settings.server_core,
            log_dir=settings.work_dir,
            env=env,
        )
        ready_s.append(service.ready_s)
        idle_mb.append(rss_mb(service.pid))
        if run < settings.startup_runs - 1:
            service.stop()
    summary = {
        "ready_s": ready_s,
        "ready_median_s": statistics.median(ready_s),
        "idle_rss_mb": idle_mb,
        "idle_rss_max_mb": max(idle_mb),
    }
    return summary, service
