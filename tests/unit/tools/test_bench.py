"""The bench's arithmetic and parsing: percentiles, /proc and wrk readings, verdicts.

Nothing here is timed: the figures themselves belong to ``make bench``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tools import bench_measure as bench
from tools.bench import parse_invocation
from tools.bench_measure import capped_by, combined, compare_throughput
from tools.bench_processes import (
    ServiceError,
    parse_busy_seconds,
    parse_cpu_seconds,
    parse_rss_mb,
    pinned,
)
from tools.bench_report import checks_from, render_report
from tools.bench_settings import BenchSettings
from tools.loadgen import (
    LoadError,
    parse_wrk_output,
    percentile,
    whole_seconds,
    wrk_lua_script,
)

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8080/v1/chat/completions
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.55ms    1.25ms  11.14ms   61.79%
    Req/Sec     5.75k     0.97k    7.51k    80.00%
  57360 requests in 10.01s, 51.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   5730.27
Transfer/sec:      5.10MB
"""


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.5) == 7.0


def test_percentile_rounds_the_rank_up() -> None:
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.51) == 3.0


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.01])
def test_percentile_rejects_fraction_outside_unit_interval(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], fraction)


def test_percentile_of_empty_sample_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        percentile([], 0.5)


def test_cpu_seconds_counted_after_a_command_name_with_spaces_and_parens() -> None:
    fields_3_to_13 = "S 1 2 3 4 5 6 7 8 9 10"
    line = f"1234 (python -m (x)) {fields_3_to_13} 250 150 0 0 20 0 1 0"
    assert parse_cpu_seconds(line, ticks_per_s=100) == pytest.approx(4.0)


def test_rss_is_read_from_vmrss_in_megabytes() -> None:
    status = "Name:\tpython\nVmHWM:\t   99999 kB\nVmRSS:\t   40960 kB\nThreads:\t2\n"
    assert parse_rss_mb(status) == pytest.approx(40960 * 1024 / 1e6)


def test_rss_without_vmrss_line_is_a_service_error() -> None:
    with pytest.raises(ServiceError, match="VmRSS"):
        parse_rss_mb("Name:\tzombie\n")


def test_machine_busy_time_is_user_nice_and_system() -> None:
    text = "cpu  1000 50 250 9999 77 0 33 5 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"
    assert parse_busy_seconds(text, ticks_per_s=100) == pytest.approx(13.0)


def test_proc_stat_without_aggregate_line_is_a_service_error() -> None:
    with pytest.raises(ServiceError, match="aggregate"):
        parse_busy_seconds("intr 1 2 3\n")


def test_pinned_prefixes_taskset_only_when_a_core_is_given() -> None:
    assert pinned(["wrk", "url"], 1) == ["taskset", "-c", "1", "wrk", "url"]
    assert pinned(["wrk", "url"], None) == ["wrk", "url"]


def test_wrk_output_gives_counts_errors_and_duration() -> None:
    result = parse_wrk_output(WRK_OUTPUT)
    assert result.requests == 57360
    assert result.elapsed_s == pytest.approx(10.01)
    assert result.non_2xx == 7
    assert result.errors == 3
    assert result.requests_per_s == pytest.approx(57360 / 10.01)


def test_wrk_duration_in_minutes_and_milliseconds_is_converted() -> None:
    assert parse_wrk_output("  10 requests in 1.50m, 1KB read").elapsed_s == pytest.approx(90)
    assert parse_wrk_output("  10 requests in 900.00ms, 1KB read").elapsed_s == pytest.approx(0.9)


def test_clean_wrk_run_has_no_errors() -> None:
    result = parse_wrk_output("  5736 requests in 1.01s, 5.11MB read\nRequests/sec: 5701.83\n")
    assert (result.non_2xx, result.errors) == (0, 0)


def test_unexpected_wrk_output_is_a_load_error() -> None:
    with pytest.raises(LoadError, match="unexpected wrk output"):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused")


def test_lua_script_posts_the_body_verbatim() -> None:
    script = wrk_lua_script(b'{"a":"b]]"}')
    assert 'wrk.method = "POST"' in script
    assert 'wrk.body = [==[{"a":"b]]"}]==]' in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script


def test_body_that_closes_the_lua_long_string_is_refused() -> None:
    with pytest.raises(LoadError, match="Lua"):
        wrk_lua_script(b'{"a":"]==]"}')


def test_wrk_durations_are_whole_seconds_of_at_least_one() -> None:
    assert whole_seconds(10.0) == 10
    assert whole_seconds(0.3) == 1
    assert whole_seconds(2.6) == 3


def _run(
    requests_per_s: float, cpu_us: dict[str, float], share: dict[str, float]
) -> dict[str, Any]:
    return {
        "requests_per_s": requests_per_s,
        "cpu_us_per_request": cpu_us,
        "core_share": share,
    }


def test_run_is_capped_by_a_server_using_its_whole_core() -> None:
    run = _run(3000, {}, {"proxy": 0.97, "mock": 0.8, "loadgen": 0.15, "other": 0.0})
    assert capped_by(run, "proxy", ("mock", "loadgen")) == "proxy"


def test_run_is_capped_by_the_client_core_when_the_server_has_room() -> None:
    run = _run(3000, {}, {"proxy": 0.6, "mock": 0.8, "loadgen": 0.15, "other": 0.0})
    assert capped_by(run, "proxy", ("mock", "loadgen")) == "mock+loadgen"


def test_run_with_no_full_core_says_so() -> None:
    run = _run(3000, {}, {"proxy": 0.5, "mock": 0.3, "loadgen": 0.1, "other": 0.0})
    assert capped_by(run, "proxy", ("mock", "loadgen")) == "no saturated core"


def _three_runs() -> dict[str, dict[str, Any]]:
    return {
        "mock": _run(6000, {"mock": 120.0}, {"mock": 0.8, "loadgen": 0.15, "other": 0.0}),
        "proxy": _run(
            4000,
            {"proxy": 200.0, "mock": 120.0},
            {"proxy": 0.8, "mock": 0.5, "loadgen": 0.1, "other": 0.0},
        ),
        "orchestrator": _run(
            3000,
            {"orchestrator": 320.0, "mock": 120.0},
            {"orchestrator": 0.96, "mock": 0.4, "loadgen": 0.1, "other": 0.0},
        ),
    }


def test_comparison_gives_rate_and_cpu_ratios_and_what_capped_each_run() -> None:
    comparison = compare_throughput(_three_runs())
    assert comparison["rps_ratio"] == pytest.approx(0.75)
    assert comparison["cpu_ratio"] == pytest.approx(200.0 / 320.0)
    assert comparison["capped_by"] == {
        "mock": "no saturated core",
        "proxy": "no saturated core",
        "orchestrator": "orchestrator",
    }


def test_runs_of_a_target_are_added_up() -> None:
    fast = {"requests": 300, "elapsed_s": 1.0, "core_share": {"proxy": 0.9, "other": 0.0}}
    slow = {"requests": 100, "elapsed_s": 1.0, "core_share": {"proxy": 1.0, "other": 0.2}}
    total = combined([fast, slow])
    assert total["requests_per_s"] == pytest.approx(200.0)
    assert total["core_share"] == pytest.approx({"proxy": 0.95, "other": 0.1})
    # CPU per request over both runs: 1.9 CPU-seconds for 400 requests.
    assert total["cpu_us_per_request"]["proxy"] == pytest.approx(1.9 / 400 * 1e6)
    assert total["runs"] == 2


def _results(added_p50_ms: float, other_share: float = 0.0) -> dict[str, Any]:
    runs = _three_runs()
    for run in runs.values():
        run["core_share"]["other"] = other_share
    return {
        "settings": {"connections": 32, "throughput_duration_s": 4.0, "throughput_rounds": 4},
        "startup": {
            "ready_s": [0.31, 0.33],
            "ready_median_s": 0.32,
            "idle_rss_max_mb": 41.0,
            "rss_after_load_mb": 43.0,
        },
        "latency": {
            "requests": 3000,
            "other_core_share": other_share,
            **{
                name: {"p50_ms": p50, "p95_ms": p50, "p99_ms": p50, "mean_ms": p50}
                for name, p50 in (("mock", 0.4), ("orchestrator", 0.4 + added_p50_ms))
            },
            "proxy": {"p50_ms": 0.6, "p95_ms": 0.6, "p99_ms": 0.6, "mean_ms": 0.6},
            "added": {"p50_ms": added_p50_ms, "p95_ms": 0, "p99_ms": 0, "mean_ms": 0},
            "proxy_added": {"p50_ms": 0.2, "p95_ms": 0, "p99_ms": 0, "mean_ms": 0},
        },
        "throughput": {
            **runs,
            "comparison": compare_throughput(runs),
            "loadgen": "wrk",
            "pinned": True,
        },
    }


def test_checks_pass_and_miss_against_the_targets() -> None:
    verdicts = {check.name: check.passed for check in checks_from(_results(0.5))}
    assert verdicts == {
        "added latency p50, 1 connection": True,
        "req/s vs proxy, 32 connections": False,
        "req per CPU-second vs proxy": False,
        "idle memory (VmRSS)": True,
        "start-up to first /health 200": True,
    }
    assert not next(c for c in checks_from(_results(0.61)) if "latency" in c.name).passed


def test_rate_ratio_is_flagged_when_the_proxy_was_not_the_bottleneck() -> None:
    rate = next(c for c in checks_from(_results(0.5)) if c.name.startswith("req/s"))
    assert rate.note == "proxy run capped by no saturated core"


def test_report_shows_targets_verdicts_and_a_quiet_machine() -> None:
    results = _results(0.5)
    report = render_report(results, checks_from(results))
    assert "PASS" in report
    assert "MISS" in report
    assert "<= 0.6" in report
    assert "Machine quiet" in report
    assert "added (proxy)" in report


def test_report_warns_when_other_processes_were_busy() -> None:
    results = _results(0.5, other_share=0.6)
    report = render_report(results, checks_from(results))
    assert "WARNING: the machine was busy" in report
    assert "proxy 60%" in report


def test_settings_name_the_field_out_of_range() -> None:
    with pytest.raises(ValueError, match="connections=0"):
        BenchSettings(connections=0)
    with pytest.raises(ValueError, match="throughput_duration_s=-1"):
        BenchSettings(throughput_duration_s=-1)


def test_quick_invocation_shortens_every_phase() -> None:
    settings = parse_invocation(["--quick"]).settings
    assert settings.latency_requests < BenchSettings().latency_requests
    assert settings.throughput_duration_s < BenchSettings().throughput_duration_s
    assert settings.throughput_rounds == 1


def test_orchestrator_env_is_passed_as_name_value_pairs() -> None:
    invocation = parse_invocation(["--orchestrator-env", "ORCH__SERVER__LOG_LEVEL=WARNING"])
    assert invocation.settings.orchestrator_env == {"ORCH__SERVER__LOG_LEVEL": "WARNING"}


def test_malformed_orchestrator_env_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_invocation(["--orchestrator-env", "NOEQUALS"])
    assert "NAME=VALUE" in capsys.readouterr().err


def test_bad_number_is_a_usage_error_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_invocation(["--connections", "0"])
    assert "connections=0" in capsys.readouterr().err


def test_latency_reports_the_round_where_the_direct_mock_was_fastest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def round_with(mock_p50: float, added: float) -> dict[str, Any]:
        row = {"p50_ms": mock_p50, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0}
        return {
            "requests": 10,
            "mock": row,
            "proxy": row,
            "orchestrator": row,
            "added": {**row, "p50_ms": added},
            "proxy_added": {**row, "p50_ms": added / 2},
            "other_core_share": 0.0,
        }

    # The orchestrator's best round is not the one chosen: only the mock's p50 decides.
    rounds = iter([round_with(0.5, 0.9), round_with(0.4, 0.7), round_with(0.6, 0.5)])
    monkeypatch.setattr(bench, "_latency_round", lambda *_: next(rounds))
    service: Any = None
    latency = bench.measure_latency(service, service, service, BenchSettings(latency_rounds=3))
    assert latency["added"]["p50_ms"] == 0.7
    assert [r["added"] for r in latency["p50_ms_by_round"]] == [0.9, 0.7, 0.5]
    results = _results(0.7)
    results["latency"] = latency
    assert "the quietest of 3 rounds" in render_report(results, checks_from(results))
