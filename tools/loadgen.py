"""Python load generation for the benchmark: sequential latency and a closed-loop fallback.

- :func:`sequential_latencies_s` times requests on ONE keep-alive connection per target,
  interleaving the targets request by request, so the client's own overhead (and any
  drift of the machine during the run) is the same for every target.
- :class:`LoadGenerator` runs a fixed-time, fixed-concurrency load in its own process,
  pinned to a core: ``wrk`` when installed, else :func:`closed_loop` as
  ``python -m tools.loadgen`` (a Python client saturates long before wrk does, so the
  bench installs wrk when it may).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import aiohttp
import orjson

JSON_HEADERS: Final = {"Content-Type": "application/json"}
REPO_ROOT: Final = Path(__file__).resolve().parents[1]
RUN_SLACK_S: Final = 30.0  # a load run that outlives its duration by this much is hung


class LoadError(RuntimeError):
    """A target answered something other than a 2xx, or the load generator failed."""


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already-sorted values: the smallest value with at least
    ``fraction`` of the sample at or below it (``fraction`` in (0, 1])."""
    if not sorted_values:
        raise ValueError("percentile of an empty sample")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction!r} must be in (0, 1]")
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[rank - 1]


def _session(connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=60.0)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30.0))


async def _timed_post(
    session: aiohttp.ClientSession, url: str, body: bytes, clock: Callable[[], int]
) -> float:
    started = clock()
    async with session.post(url, data=body, headers=JSON_HEADERS) as response:
        await response.read()
        status = response.status
    elapsed_s = (clock() - started) / 1e9
    if not 200 <= status < 300:
        raise LoadError(f"POST {url} answered HTTP {status}; the bench needs a healthy target")
    return elapsed_s


async def sequential_latencies_s(
    targets: Mapping[str, str],
    body: bytes,
    requests: int,
    warmup_requests: int,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> dict[str, list[float]]:
    """Per target name, the sorted latencies of ``requests`` sequential POSTs of ``body``.

    Each target gets its own session limited to one connection (kept alive throughout);
    the order of targets rotates every request so none always goes first.
    """
    names = list(targets)
    sessions = {name: _session(1) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        for index in range(warmup_requests + requests):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                elapsed_s = await _timed_post(sessions[name], targets[name], body, clock)
                if index >= warmup_requests:
                    samples[name].append(elapsed_s)
    finally:
        for session in sessions.values():
            await session.close()
    return {name: sorted(values) for name, values in samples.items()}


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int  # answers received within the run, any status
    non_2xx: int
    errors: int  # connection errors and timeouts
    elapsed_s: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0


async def closed_loop(
    url: str,
    body: bytes,
    connections: int,
    duration_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> LoadResult:
    """``connections`` workers, each sending its next request as soon as one is answered."""
    counts = {"requests": 0, "non_2xx": 0, "errors": 0}
    started = clock()
    stop_at = started + duration_s

    async def worker(session: aiohttp.ClientSession) -> None:
        while clock() < stop_at:
            try:
                async with session.post(url, data=body, headers=JSON_HEADERS) as response:
                    await response.read()
                    counts["requests"] += 1
                    if not 200 <= response.status < 300:
                        counts["non_2xx"] += 1
            except (aiohttp.ClientError, OSError, TimeoutError):
                counts["errors"] += 1

    async with _session(connections) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    return LoadResult(
        counts["requests"], counts["non_2xx"], counts["errors"], elapsed_s=clock() - started
    )


_WRK_DURATION_UNITS_S: Final = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def whole_seconds(duration_s: float) -> int:
    """wrk takes whole seconds only."""
    return max(1, round(duration_s))


def wrk_lua_script(body: bytes) -> str:
    text = body.decode()
    if "]==]" in text:
        raise LoadError("the request body cannot be quoted as a Lua long string")
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{text}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


def parse_wrk_output(text: str) -> LoadResult:
    """wrk's summary as a :class:`LoadResult`; LoadError when it is not one."""
    summary = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", text)
    if summary is None:
        raise LoadError(f"unexpected wrk output:\n{text}")
    elapsed_s = float(summary.group(2)) * _WRK_DURATION_UNITS_S[summary.group(3)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return LoadResult(
        requests=int(summary.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=errors,
        elapsed_s=elapsed_s,
    )


@dataclass(frozen=True, slots=True)
class LoadGenerator:
    """wrk (one thread) or ``tools.loadgen`` in a child process, pinned to ``core``."""

    kind: str  # "wrk" or "python"
    core: int | None
    work_dir: Path

    def prepare(self, body: bytes) -> None:
        (self.work_dir / "post.lua").write_text(wrk_lua_script(body))
        (self.work_dir / "body.json").write_bytes(body)

    def command(self, url: str, connections: int, duration_s: float) -> list[str]:
        if self.kind == "wrk":
            duration = f"{whole_seconds(duration_s)}s"
            script = str(self.work_dir / "post.lua")
            command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "-s", script, url]
        else:
            command = [
                sys.executable, "-m", "tools.loadgen", "--url", url,
                "--body-file", str(self.work_dir / "body.json"),
                "--connections", str(connections), "--duration-s", f"{duration_s:g}",
            ]  # fmt: skip
        return command if self.core is None else ["taskset", "-c", str(self.core), *command]

    def run(self, url: str, connections: int, duration_s: float) -> LoadResult:
        command = self.command(url, connections, duration_s)
        done = subprocess.run(
            command,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=duration_s + RUN_SLACK_S,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()  # wrk writes its errors to stdout
            raise LoadError(f"{' '.join(command)} failed ({done.returncode}): {output}")
        if self.kind == "wrk":
            return parse_wrk_output(done.stdout)
        fields = orjson.loads(done.stdout)
        return LoadResult(
            fields["requests"], fields["non_2xx"], fields["errors"], fields["elapsed_s"]
        )


def find_load_generator(core: int | None, work_dir: Path, install: bool) -> LoadGenerator:
    """wrk when present (installed with apt-get when allowed and root), else Python."""
    if install and shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: wrk not found; installing it with apt-get ...", flush=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            check=False,
        )
    return LoadGenerator("wrk" if shutil.which("wrk") else "python", core, work_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.loadgen",
        description="Closed-loop POST load; prints one JSON object with the counts.",
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration-s", type=float, default=10.0)
    args = parser.parse_args(argv)
    if args.connections < 1:
        parser.error(f"--connections={args.connections} must be >= 1")
    if args.duration_s <= 0:
        parser.error(f"--duration-s={args.duration_s} must be > 0")
    body = args.body_file.read_bytes()
    result = asyncio.run(closed_loop(args.url, body, args.connections, args.duration_s))
    sys.stdout.buffer.write(orjson.dumps({**asdict(result), "rps": result.requests_per_s}))
    sys.stdout.buffer.write(b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
