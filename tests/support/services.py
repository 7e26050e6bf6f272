"""Start the real services as child processes on free loopback ports, for integration tests.

Readiness is a poll of ``GET /health``, never a fixed sleep. Each service's output goes to
a log file the test can read afterwards (to check what was logged, and what never was).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT_S = 20.0
READY_POLL_INTERVAL_S = 0.02
LOG_WAIT_S = 5.0  # generous: log lines are flushed within 0.1 s


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningService:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _log_file: object = field(repr=False, default=None)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout_s: float = LOG_WAIT_S) -> str:
        """The log once ``text`` is in it: the services flush lines in batches (0.1 s)."""
        deadline = time.monotonic() + timeout_s
        logs = self.logs()
        while text not in logs and time.monotonic() < deadline:
            time.sleep(READY_POLL_INTERVAL_S)
            logs = self.logs()
        return logs

    def stop(self, timeout_s: float = 10.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            with contextlib.suppress(Exception):
                self._log_file.close()  # type: ignore[attr-defined]
        return self.process.returncode


def _wait_ready(service: RunningService, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    url = f"{service.base_url}/health"
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"{service.name} exited with {service.process.returncode} before it was ready:\n"
                f"{service.logs()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(READY_POLL_INTERVAL_S)
    service.stop()
    raise RuntimeError(f"{service.name} was not ready within {timeout_s} s:\n{service.logs()}")


def start_service(
    module: str,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> RunningService:
    """Run ``python -m <module> --host 127.0.0.1 --port <port> <args>`` and wait for /health."""
    port = port or free_port()
    log_dir = Path(tempfile.mkdtemp(prefix=f"{module}-"))
    log_path = log_dir / "service.log"
    log_file = log_path.open("wb")
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *args],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=child_env,
    )
    service = RunningService(module, port, process, log_path, log_file)
    _wait_ready(service, ready_timeout_s)
    return service


@contextlib.contextmanager
def running(
    module: str,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Iterator[RunningService]:
    service = start_service(module, args, env, port)
    try:
        yield service
    finally:
        service.stop()
