"""``make run``'s script: its banner only once both services answer, and a busy port is
reported, not announced."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support.services import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run-local.sh"
BANNER = "(Ctrl-C stops both)"


def _start(mock_port: int, orch_port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PY": sys.executable,
        "MOCK_PORT": str(mock_port),
        "ORCH_PORT": str(orch_port),
    }
    return subprocess.Popen(
        ["bash", str(SCRIPT)],
        env=env,
        cwd=SCRIPT.parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_the_banner_comes_once_both_services_answer() -> None:
    mock_port, orch_port = free_port(), free_port()
    process = _start(mock_port, orch_port)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # blocks until the script says something
        assert BANNER in line, line
        for port in (mock_port, orch_port):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                assert answer.status == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_a_busy_port_is_reported_and_no_banner_shown() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        process = _start(free_port(), busy)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert BANNER not in stderr
    assert (
        f"orchestrator: cannot listen on 127.0.0.1:{busy}: the address is already in use" in stderr
    )
