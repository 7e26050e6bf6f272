"""``python -m tools.bench_tools``: what each caller API and each translation adds.

Each case is measured as p50/p95 of sequential requests on one keep-alive connection,
interleaved with the same call made straight to the mock (so the mock's own work and the
machine's drift cancel out):

- ``text``: a plain chat request to the OpenAI deployment (the baseline);
- ``tools``: the same with a declared tool, answered with a tool call;
- ``translated``: the tool request sent to the Anthropic deployment (OpenAI -> Anthropic
  request, Anthropic -> OpenAI answer), against the Anthropic body it translates to;
- ``messages``: an Anthropic Messages request (the Anthropic SDK's) to the Anthropic
  deployment, against the same body sent to the mock's Anthropic API;
- ``messages_openai``: the same Messages request routed to the OpenAI deployment
  (Anthropic -> OpenAI request, OpenAI -> Anthropic answer), against its chat body;
- ``embeddings``: ``POST /v1/embeddings`` (two inputs, 1,536 floats each), against the
  same call to the mock.

The added latency of each case is its p50 through the orchestrator minus its p50 direct;
``make bench`` runs it after the throughput bench, so each API's row sits beside chat's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import aiohttp
import orjson

from tools.bench_processes import Service, start_service
from tools.bench_settings import MOCK_ARGS

TOOL: Final = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK: Final = [{"role": "user", "content": "Weather in Paris? Use get_weather."}]
TEXT: Final = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello"}]}
TOOLS: Final = {"model": "gpt-4o", "messages": ASK, "tools": [TOOL]}
TRANSLATED: Final = {**TOOLS, "preferred_provider": "anthropic"}
ANTHROPIC_DIRECT: Final = {
    "model": "claude-3-5-sonnet-20241022",
    "max_tokens": 4096,
    "messages": [{"role": "user", "content": [{"type": "text", "text": ASK[0]["content"]}]}],
    "tools": [
        {
            "name": "get_weather",
            "input_schema": TOOL["function"]["parameters"],  # type: ignore[index]
        }
    ],
}
SAY_HELLO: Final = [{"role": "user", "content": "Say hello"}]
MESSAGES: Final = {"model": "claude-3-5-sonnet-20241022", "max_tokens": 256, "messages": SAY_HELLO}
MESSAGES_OPENAI: Final = {**MESSAGES, "model": "gpt-4o"}
CHAT_OF_MESSAGES: Final = {"model": "gpt-4o", "max_tokens": 256, "messages": SAY_HELLO}
EMBEDDINGS: Final = {"model": "text-embedding-3-small", "input": ["Say hello", "Say goodbye"]}
CHAT, ANTHROPIC, VECTORS = "/v1/chat/completions", "/v1/messages", "/v1/embeddings"
CASES: Final = {
    # name: (orchestrator path, body, mock path, the body the mock gets)
    "text": (CHAT, TEXT, CHAT, TEXT),
    "tools": (CHAT, TOOLS, CHAT, TOOLS),
    "translated": (CHAT, TRANSLATED, ANTHROPIC, ANTHROPIC_DIRECT),
    "messages": (ANTHROPIC, MESSAGES, ANTHROPIC, MESSAGES),
    "messages_openai": (ANTHROPIC, MESSAGES_OPENAI, CHAT, CHAT_OF_MESSAGES),
    "embeddings": (VECTORS, EMBEDDINGS, VECTORS, EMBEDDINGS),
}


async def _timed_post(
    session: aiohttp.ClientSession, url: str, body: bytes, samples: list[float]
) -> None:
    started = time.perf_counter()
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        await r.read()
        if r.status != 200:
            raise RuntimeError(f"{url} answered {r.status}")
    samples.append((time.perf_counter() - started) * 1000.0)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(mock: Service, orchestrator: Service, requests: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=1)
    async with (
        aiohttp.ClientSession(connector=connector) as via,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as direct,
    ):
        for name, (path, body, direct_path, direct_body) in CASES.items():
            through: list[float] = []
            straight: list[float] = []
            encoded, direct_encoded = orjson.dumps(body), orjson.dumps(direct_body)
            for index in range(requests + 100):
                samples = (through, straight) if index >= 100 else ([], [])
                await _timed_post(via, orchestrator.url + path, encoded, samples[0])
                await _timed_post(direct, mock.url + direct_path, direct_encoded, samples[1])
            results[name] = {
                "orchestrator_p50_ms": round(_percentile(through, 0.5), 3),
                "direct_p50_ms": round(_percentile(straight, 0.5), 3),
                "added_p50_ms": round(_percentile(through, 0.5) - _percentile(straight, 0.5), 3),
                "added_p95_ms": round(_percentile(through, 0.95) - _percentile(straight, 0.95), 3),
            }
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_tools", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per case, after warm-up")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as logs:
        log_dir = Path(logs)
        mock = start_service("mock", MOCK_ARGS, core=None, log_dir=log_dir)
        env = {"ORCH_MOCK_BASE_URL": mock.url, "ORCH__SERVER__LOG_LEVEL": "WARNING"}
        orchestrator = start_service(
            "orchestrator", ("orchestrator",), core=None, log_dir=log_dir, env=env
        )
        try:
            results = asyncio.run(measure(mock, orchestrator, args.requests))
        finally:
            orchestrator.stop()
            mock.stop()
    print(f"{'case':<16}{'direct p50':>12}{'through p50':>13}{'added p50':>11}{'added p95':>11}")
    for name, row in results.items():
        print(
            f"{name:<16}{row['direct_p50_ms']:>10.3f}ms{row['orchestrator_p50_ms']:>11.3f}ms"
            f"{row['added_p50_ms']:>9.3f}ms{row['added_p95_ms']:>9.3f}ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
