"""Streaming pass-through benchmark: a healthy stream read via the orchestrator vs directly.

``python -m tools.bench_stream`` starts the mock and the orchestrator on loopback, then
reads the same healthy OpenAI-format stream, alternating: once straight from the mock,
once through the orchestrator. Both readers parse every event as an SDK would. It prints
content chunks per second for each and their ratio, for two pacings:

- paced: the mock's token interval (5 ms, ~200 tokens/s, faster than real models): the
  target is a pass-through rate >= 90% of the direct one;
- unpaced (``--token-interval-s 0``): the mock sends the whole answer in one write, so
  the figure is the orchestrator's raw per-chunk cost, reported for information.

Not a timed test: numbers depend on the machine; run it on an idle one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import orjson

from tools.bench_processes import Service, start_service

TARGET_RATIO: Final = 0.90
PROMPT: Final = "Describe the journey of a river from the mountains to the sea, in detail."
WARMUP_STREAMS: Final = 3


@dataclass(frozen=True, slots=True)
class Rate:
    chunks: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


async def read_stream(http: aiohttp.ClientSession, url: str, body: bytes) -> int:
    """Content chunks in one stream, each event decoded as a client SDK would."""
    chunks = 0
    buffer = b""
    headers = {"Content-Type": "application/json"}
    async with http.post(url, data=body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
        async for data in response.content.iter_any():
            buffer += data
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                payload = event.removeprefix(b"data: ")
                if payload == b"[DONE]":
                    return chunks
                decoded: dict[str, Any] = orjson.loads(payload)
                if "error" in decoded:
                    raise RuntimeError(f"{url} stream failed: {decoded['error']}")
                if any(c["delta"].get("content") for c in decoded.get("choices", ())):
                    chunks += 1
    raise RuntimeError(f"{url} ended without [DONE]")


async def compare(
    mock: Service, orchestrator: Service, streams: int, interval_s: float
) -> tuple[Rate, Rate]:
    body = orjson.dumps(
        {"model": "gpt-4", "messages": [{"role": "user", "content": PROMPT}], "stream": True}
    )
    direct_url = f"{mock.url}/v1/chat/completions"
    via_url = f"{orchestrator.url}/v1/chat/completions"
    plan = {"provider": "both", "faults": {}, "token_interval_seconds": interval_s}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{mock.url}/config/failures", json=plan) as response:
            response.raise_for_status()
        for _ in range(WARMUP_STREAMS):
            await read_stream(http, direct_url, body)
            await read_stream(http, via_url, body)
        totals = {direct_url: [0, 0.0], via_url: [0, 0.0]}
        for index in range(streams * 2):
            # Alternating, so drift in machine load hits both sides alike.
            url = (direct_url, via_url)[index % 2]
            started = time.perf_counter()
            chunks = await read_stream(http, url, body)
            totals[url][0] += chunks
            totals[url][1] += time.perf_counter() - started
    return Rate(int(totals[direct_url][0]), totals[direct_url][1]), Rate(
        int(totals[via_url][0]), totals[via_url][1]
    )


def _report(label: str, direct: Rate, via: Rate) -> float:
    ratio = via.per_s / direct.per_s if direct.per_s else 0.0
    print(
        f"{label:<9} direct {direct.per_s:10.1f} chunks/s   via orchestrator "
        f"{via.per_s:10.1f} chunks/s   ratio {ratio:6.1%}   ({direct.chunks} chunks each way)"
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_stream", description=__doc__)
    parser.add_argument("--streams", type=int, default=20, help="streams per side and pacing")
    parser.add_argument(
        "--token-interval-s", type=float, default=0.005, help="the paced run's token interval"
    )
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    mock = start_service("mock", ["mock_provider", "--seed", "1"], core=None, log_dir=log_dir)
    env = {"ORCH_MOCK_BASE_URL": mock.url, "ORCH__SERVER__LOG_LEVEL": "WARNING"}
    try:
        orchestrator = start_service(
            "orchestrator", ["orchestrator"], core=None, log_dir=log_dir, env=env
        )
        try:
            paced = asyncio.run(compare(mock, orchestrator, args.streams, args.token_interval_s))
            unpaced = asyncio.run(compare(mock, orchestrator, args.streams, 0.0))
        finally:
            orchestrator.stop()
    finally:
        mock.stop()
    ratio = _report(f"paced {args.token_interval_s * 1000:g}ms", *paced)
    _report("unpaced", *unpaced)
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"{verdict}: paced pass-through at {ratio:.1%} of direct (target >= {TARGET_RATIO:.0%})")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
