"""The bench's processes: start a service pinned to a core, time its start-up, read /proc.

CPU time and memory come from ``/proc/<pid>/stat`` and ``/proc/<pid>/status`` rather than
from the process itself, so the measured server runs unmodified.
"""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S: Final = 15.0
READY_POLL_INTERVAL_S: Final = 0.005
STOP_TIMEOUT_S: Final = 10.0
_CLOCK_TICKS_PER_S: Final = os.sysconf("SC_CLK_TCK")


class ServiceError(RuntimeError):
    """A service did not start, or /proc does not say what the bench needs."""


def parse_cpu_seconds(stat_line: str, ticks_per_s: int = _CLOCK_TICKS_PER_S) -> float:
    """utime + stime of a ``/proc/<pid>/stat`` line, in seconds (all threads included).

    The command name (field 2) may hold spaces and parentheses, so fields are counted
    from the last ``)``: utime and stime are fields 14 and 15 of the line.
    """
    after_name = stat_line[stat_line.rindex(")") + 2 :].split()
    utime, stime = int(after_name[11]), int(after_name[12])
    return (utime + stime) / ticks_per_s


def parse_rss_mb(status_text: str) -> float:
    """VmRSS of a ``/proc/<pid>/status`` text, in MB (10^6 bytes)."""
    match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status_text, re.MULTILINE)
    if match is None:
        raise ServiceError("no VmRSS line in /proc/<pid>/status")
    return int(match.group(1)) * 1024 / 1e6


def cpu_seconds(pid: int) -> float:
    return parse_cpu_seconds(Path(f"/proc/{pid}/stat").read_text())


def rss_mb(pid: int) -> float:
    return parse_rss_mb(Path(f"/proc/{pid}/status").read_text())


def parse_busy_seconds(proc_stat_text: str, ticks_per_s: int = _CLOCK_TICKS_PER_S) -> float:
    """CPU time all processes spent in user and kernel mode since boot, from ``/proc/stat``
    (the ``cpu`` line's user + nice + system; interrupt and steal time are left out)."""
    fields = proc_stat_text.split("\n", 1)[0].split()
    if not fields or fields[0] != "cpu":
        raise ServiceError("/proc/stat does not start with the aggregate cpu line")
    user, nice, system = (int(value) for value in fields[1:4])
    return (user + nice + system) / ticks_per_s


def machine_busy_seconds() -> float:
    return parse_busy_seconds(Path("/proc/stat").read_text())


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds() -> float:
    """CPU time of the children already waited for (the load generator, once it is done)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(argv: Sequence[str], core: int | None) -> list[str]:
    """``argv`` run on ``core`` only (taskset execs, so the pid stays the program's)."""
    if core is None:
        return list(argv)
    return ["taskset", "-c", str(core), *argv]


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    ready_s: float = 0.0  # spawn to the first 200 on /health

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def start_service(
    name: str,
    module_args: Sequence[str],
    *,
    core: int | None,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Service:
    """Spawn ``python -m <module_args> --host 127.0.0.1 --port <free>``; wait for /health.

    Its output goes to ``<log_dir>/<name>.log`` (a file, as a log shipper would read it:
    an undrained pipe would block the service once full).
    """
    port = free_port()
    log_path = log_dir / f"{name}.log"
    command = [sys.executable, "-m", *module_args, "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            pinned(command, core),
            cwd=REPO_ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    service = Service(name, f"http://127.0.0.1:{port}", process, log_path)
    deadline = started + READY_TIMEOUT_S
    while not _health_ok(service.url):
        if process.poll() is not None or time.perf_counter() > deadline:
            service.stop()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise ServiceError(
                f"{name} was not ready within {READY_TIMEOUT_S:g} s "
                f"(exit code {process.returncode}):\n{tail}"
            )
        time.sleep(READY_POLL_INTERVAL_S)
    service.ready_s = time.perf_counter() - started
    return service
