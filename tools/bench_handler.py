"""``python -m tools.bench_handler``: CPU per chat request through the real app in one
process, with the network seam swapped for a canned answer.

It times the orchestrator's own path (middlewares, validation, engine, attempt, rendering,
the JSON access line, on uvloop) plus aiohttp's client and server, with no mock and no
second core, so two commits can be
compared on a VM whose speed drifts between runs of ``make bench``: run it on each, a few
times, interleaved, and compare the best figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Final

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict, CIMultiDictProxy

from orchestrator.app import create_app
from orchestrator.config import load_config
from orchestrator.http.context import AccessLine
from orchestrator.http.keys import TRANSPORT_KEY
from orchestrator.telemetry.logs import ACCESS_LOGGER, RequestIdFilter
from orchestrator.transport.base import UpstreamAnswer, UpstreamRequest
from shared.eventloop import new_event_loop
from shared.jsonlog import configure_json_logging

ANSWER: Final = orjson.dumps(
    {
        "object": "chat.completion",
        "id": "chatcmpl-bench",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
)
REQUEST: Final = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello"}]}
_HEADERS: Final = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))


class CannedAnswer:
    status = 200
    headers = _HEADERS

    async def read(self, limit: int | None = None) -> bytes:
        return ANSWER

    async def read_chunk(self) -> bytes:
        return ANSWER

    def close(self) -> None:
        pass


class CannedTransport:
    async def send(
        self, request: UpstreamRequest, timeout_s: float, *, stream: bool = False
    ) -> UpstreamAnswer:
        return CannedAnswer()

    async def close(self) -> None:
        pass


async def cpu_per_request_us(requests: int, rounds: int) -> float:
    app: web.Application = create_app(load_config(None, {}))
    app[TRANSPORT_KEY] = CannedTransport()
    server = TestServer(
        app, access_log=logging.getLogger(ACCESS_LOGGER), access_log_class=AccessLine
    )
    client = TestClient(server)
    await client.start_server()
    try:
        for _ in range(300):  # warm-up
            async with client.post("/v1/chat/completions", json=REQUEST) as response:
                await response.read()
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(requests):
                async with client.post("/v1/chat/completions", json=REQUEST) as response:
                    await response.read()
            best = min(best, (time.process_time() - started) / requests * 1e6)
        return best
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_handler", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    # As `python -m orchestrator` serves: JSON access lines, here to the null device.
    configure_json_logging(
        "INFO",
        "%(levelname)s %(name)s %(message)s %(request_id)s",
        stream=open(os.devnull, "w", encoding="utf-8"),  # noqa: SIM115
        filters=(RequestIdFilter(),),
    )
    loop = new_event_loop()  # uvloop where there is one, as the services use
    try:
        best = loop.run_until_complete(cpu_per_request_us(args.requests, args.rounds))
    finally:
        loop.close()
    print(f"{best:.1f} us of CPU per chat request (client and server), best of {args.rounds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
