"""Throughput of the mock provider: healthy, non-streaming chat completions per second.

    .venv/bin/python -m bench.mock_bench [--duration-s 10] [--concurrency 64]

Starts the mock as its own process (pinned to CPU 0 where the OS allows, so the figure is
"one core"), drives it from CPU 1 with wrk (installed with apt-get when absent and root;
else this process's aiohttp client) over keep-alive connections for a bounded time, and
prints requests/s. Loopback only.

It also prints the mock's CPU time per request (from /proc, on Linux) and the requests/s
that implies for one fully busy core: on a shared machine the client or a neighbour can be
the bottleneck, and the CPU figure is the mock's own cost regardless.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

from tools.loadgen import find_load_generator

READY_TIMEOUT_S = 20.0
READY_POLL_S = 0.05
BODY = orjson.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say something reliable, please."}],
    }
)


@dataclass(frozen=True, slots=True)
class Result:
    requests: int
    errors: int
    elapsed_s: float
    server_cpu_s: float | None = None

    @property
    def per_second(self) -> float:
        return self.requests / self.elapsed_s

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s / (self.requests + self.errors) * 1e6


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (Linux /proc), or None where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of stat(5); [1] above starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pin(pid: int, cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, {cpu})


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the mock exited with {process.returncode}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(f"{url}/health", timeout=1.0),
        ):
            return
        time.sleep(READY_POLL_S)
    raise SystemExit("the mock did not become ready")


@contextlib.contextmanager
def _mock(log_level: str) -> Iterator[tuple[str, int]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_provider", "--port", str(port), "--log-level", log_level],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _pin(process.pid, 0)
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _worker(
    session: aiohttp.ClientSession, url: str, until: float, counts: list[int]
) -> None:
    while time.monotonic() < until:
        async with session.post(url, data=BODY, headers={"Content-Type": "application/json"}) as r:
            await r.read()
            counts[0 if r.status == 200 else 1] += 1


async def drive(
    base_url: str, duration_s: float, concurrency: int, server_pid: int | None = None
) -> Result:
    url = f"{base_url}/v1/chat/completions"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        warmup = [0, 0]
        await asyncio.gather(
            *(_worker(session, url, time.monotonic() + 1.0, warmup) for _ in range(concurrency))
        )
        counts = [0, 0]
        cpu_before = None if server_pid is None else _cpu_seconds(server_pid)
        started = time.monotonic()
        until = started + duration_s
        await asyncio.gather(*(_worker(session, url, until, counts) for _ in range(concurrency)))
        elapsed_s = time.monotonic() - started
        cpu_after = None if server_pid is None else _cpu_seconds(server_pid)
        cpu_s = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        return Result(counts[0], counts[1], elapsed_s, cpu_s)


def _drive_from_core_1(
    base_url: str, pid: int, duration_s: float, concurrency: int
) -> tuple[Result, str]:
    """wrk when it is there (a Python client tops out near the mock's own rate, so it would
    measure itself); this process's aiohttp client otherwise."""
    with tempfile.TemporaryDirectory() as work_dir:
        generator = find_load_generator(1, Path(work_dir), install=True)
        if generator.kind != "wrk":
            _pin(0, 1)
            return asyncio.run(drive(base_url, duration_s, concurrency, pid)), "aiohttp"
        generator.prepare(BODY)
        url = f"{base_url}/v1/chat/completions"
        generator.run(url, concurrency, 1.0)  # warm-up
        cpu_before = _cpu_seconds(pid)
        load = generator.run(url, concurrency, duration_s)
        cpu_after = _cpu_seconds(pid)
    cpu_s = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    ok = load.requests - load.non_2xx
    return Result(ok, load.non_2xx + load.errors, load.elapsed_s, cpu_s), "wrk"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mock_bench", description=__doc__)
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--log-level", default="INFO", help="the mock's log level")
    parser.add_argument("--url", help="measure a mock that is already running instead")
    args = parser.parse_args()
    if args.url:
        result, client = asyncio.run(drive(args.url, args.duration_s, args.concurrency)), "aiohttp"
    else:
        with _mock(args.log_level) as (url, pid):
            result, client = _drive_from_core_1(url, pid, args.duration_s, args.concurrency)
    print(
        f"mock provider: {result.per_second:,.0f} requests/s "
        f"({result.requests} ok, {result.errors} errors in {result.elapsed_s:.1f} s, "
        f"concurrency {args.concurrency}, mock log level {args.log_level}, load by {client})"
    )
    cpu_us = result.cpu_us_per_request
    if cpu_us is not None:
        print(
            f"mock CPU: {cpu_us:.0f} us/request -> {1e6 / cpu_us:,.0f} requests/s "
            "on one fully busy core"
        )
    if result.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
