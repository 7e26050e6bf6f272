"""The bench's verdicts against the issue's targets, and the table it prints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

ADDED_P50_TARGET_MS: Final = 0.6
THROUGHPUT_RATIO_TARGET: Final = 0.8
IDLE_RSS_TARGET_MB: Final = 50.0
STARTUP_TARGET_S: Final = 1.0
BUSY_MACHINE_CORE_SHARE: Final = 0.1
"""Other processes using more than this share of a core make the figures noisy."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    measured: float
    unit: str
    target: str
    passed: bool
    note: str = ""


def checks_from(results: Mapping[str, Any]) -> list[Check]:
    startup, latency = results["startup"], results["latency"]
    comparison = results["throughput"]["comparison"]
    added_p50_ms = latency["added"]["p50_ms"]
    rps_ratio, cpu_ratio = comparison["rps_ratio"], comparison["cpu_ratio"]
    proxy_capped_by = comparison["capped_by"]["proxy"]
    rps_note = "" if proxy_capped_by == "proxy" else f"proxy run capped by {proxy_capped_by}"
    idle_mb, ready_s = startup["idle_rss_max_mb"], startup["ready_median_s"]
    ratio_target = f">= {THROUGHPUT_RATIO_TARGET:g}"
    return [
        Check(
            "added latency p50, 1 connection",
            added_p50_ms,
            "ms",
            f"<= {ADDED_P50_TARGET_MS:g}",
            added_p50_ms <= ADDED_P50_TARGET_MS,
        ),
        Check(
            "req/s vs proxy, 32 connections",
            rps_ratio,
            "x",
            ratio_target,
            rps_ratio >= THROUGHPUT_RATIO_TARGET,
            rps_note,
        ),
        Check(
            "req per CPU-second vs proxy",
            cpu_ratio,
            "x",
            ratio_target,
            cpu_ratio >= THROUGHPUT_RATIO_TARGET,
        ),
        Check(
            "idle memory (VmRSS)",
            idle_mb,
            "MB",
            f"<= {IDLE_RSS_TARGET_MB:g}",
            idle_mb <= IDLE_RSS_TARGET_MB,
        ),
        Check(
            "start-up to first /health 200",
            ready_s,
            "s",
            f"< {STARTUP_TARGET_S:g}",
            ready_s < STARTUP_TARGET_S,
        ),
    ]


def _latency_lines(latency: Mapping[str, Any]) -> list[str]:
    rounds = latency.get("rounds", 1)
    lines = [
        f"Sequential latency, one keep-alive connection, {latency['requests']} requests "
        "per target, interleaved (ms)"
        + (f"; the quietest of {rounds} rounds (lowest direct p50):" if rounds > 1 else ":"),
        f"  {'':<14}{'p50':>8}{'p95':>8}{'p99':>8}{'mean':>8}",
    ]
    rows = (
        ("mock", "mock"),
        ("proxy", "proxy"),
        ("orchestrator", "orchestrator"),
        ("added (proxy)", "proxy_added"),
        ("added (orch.)", "added"),
    )
    for label, key in rows:
        row = latency[key]
        lines.append(
            f"  {label:<14}{row['p50_ms']:>8.3f}{row['p95_ms']:>8.3f}"
            f"{row['p99_ms']:>8.3f}{row['mean_ms']:>8.3f}"
        )
    for index, by_round in enumerate(latency.get("p50_ms_by_round", ())):
        lines.append(
            f"  round {index + 1}: p50 mock {by_round['mock']:.3f}, added by the proxy "
            f"{by_round['proxy_added']:.3f}, by the orchestrator {by_round['added']:.3f}"
        )
    return lines


def _throughput_lines(throughput: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Throughput, {settings['connections']} connections, "
        f"{settings['throughput_rounds']} x {settings['throughput_duration_s']:g} s per target, "
        f"in turn, load by {throughput['loadgen']}, "
        f"servers pinned: {throughput['pinned']}:",
        f"  {'target':<14}{'req/s':>9}{'server CPU us/req':>20}   core share by process",
    ]
    for name in ("mock", "proxy", "orchestrator"):
        run = throughput[name]
        shares = ", ".join(f"{proc} {share:.0%}" for proc, share in run["core_share"].items())
        lines.append(
            f"  {name:<14}{run['requests_per_s']:>9.0f}"
            f"{run['cpu_us_per_request'][name]:>20.1f}   {shares}"
        )
    capped_by = throughput["comparison"]["capped_by"]
    lines.append(
        f"  run capped by: mock -> {capped_by['mock']}; proxy -> {capped_by['proxy']}; "
        f"orchestrator -> {capped_by['orchestrator']}"
    )
    return lines


def _check_lines(checks: Sequence[Check]) -> list[str]:
    lines = [f"  {'check':<34}{'measured':>12}   {'target':<9} verdict"]
    for check in checks:
        verdict = "PASS" if check.passed else "MISS"
        note = f"  ({check.note})" if check.note else ""
        lines.append(
            f"  {check.name:<34}{check.measured:>9.3f} {check.unit:<2}   {check.target:<9} "
            f"{verdict}{note}"
        )
    return lines


def _noise_lines(results: Mapping[str, Any]) -> list[str]:
    throughput = results["throughput"]
    shares = {"latency": results["latency"]["other_core_share"]} | {
        name: throughput[name]["core_share"]["other"] for name in ("mock", "proxy", "orchestrator")
    }
    busy = {name: share for name, share in shares.items() if share > BUSY_MACHINE_CORE_SHARE}
    if not busy:
        return ["Machine quiet: other processes used under 10% of a core in every phase."]
    phases = ", ".join(f"{name} {share:.0%}" for name, share in busy.items())
    return [
        f"WARNING: the machine was busy (other processes, share of a core: {phases});",
        "         the figures are noisy, rerun on a quiet machine before quoting them.",
    ]


def render_report(results: Mapping[str, Any], checks: Sequence[Check]) -> str:
    startup = results["startup"]
    startup_line = (
        f"Orchestrator start-up: {', '.join(f'{s:.3f}' for s in startup['ready_s'])} s; "
        f"VmRSS idle {startup['idle_rss_max_mb']:.1f} MB, "
        f"after the load {startup['rss_after_load_mb']:.1f} MB"
    )
    return "\n".join(
        [
            "",
            *_latency_lines(results["latency"]),
            "",
            *_throughput_lines(results["throughput"], results["settings"]),
            "",
            startup_line,
            *_noise_lines(results),
            "",
            *_check_lines(checks),
        ]
    )
