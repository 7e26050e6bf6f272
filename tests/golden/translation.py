"""The conformance suite's one function: a case's inputs through the real adapters.

A case (``cases/*.json``) holds an OpenAI chat request, the wire format of the deployment
that serves it, and what that provider answers (a body and/or a stream of events). From
them :func:`render` derives what the orchestrator sends upstream and what the caller gets
back (the ``chat.completion`` body, and the ``chat.completion.chunk`` stream as the
caller's SDK reads it); the case file stores the expected result beside its inputs.

The stream is rendered event by event in the order the provider sent them (the relay itself
holds the last finish back and writes it before the usage, as OpenAI orders them).

``python -m tests.golden.regenerate`` rewrites the expected parts from the code, for a
change that means to alter them (review the diff).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import orjson

from orchestrator.answers import (
    ChoiceDelta,
    Finish,
    Malformed,
    StreamEvent,
    TextDelta,
    UpstreamError,
    UsageReport,
)
from orchestrator.http.openai_chunks import ChunkEncoder
from orchestrator.providers.registry import adapter_for
from orchestrator.streaming.sse import ServerSentEvent
from shared.chat_parsing import parse_chat_request
from tests.unit.adapter_support import deployment

CASES: Final = Path(__file__).parent / "cases"
INPUTS: Final = ("description", "wire_format", "request", "upstream_answer", "upstream_stream")
GOLDEN_CREATED: Final = 1_700_000_000


def render(case: dict[str, Any]) -> dict[str, Any]:
    """The expected parts of ``case``, as the code produces them now."""
    wire_format = case["wire_format"]
    adapter = adapter_for(wire_format)
    request = parse_chat_request(case["request"])
    target = deployment(wire_format, model=f"{wire_format}-model", api_key=None)
    sent = adapter.build_request(request, target, "req-golden", 1)
    out: dict[str, Any] = {"upstream_request": orjson.loads(sent.body)}
    if "upstream_answer" in case:
        completion = adapter.parse_success(orjson.dumps(case["upstream_answer"]), request)
        body = dict(completion.body or {})
        if wire_format != "openai":
            body["created"] = GOLDEN_CREATED  # the translation stamps the time it ran
        out["answer"] = body
    if "upstream_stream" in case:
        out["stream"] = _stream(adapter, request, case["upstream_stream"])
    return out


def _stream(adapter: Any, request: Any, events: list[dict[str, Any]]) -> list[Any]:
    translator = adapter.stream_translator(request)
    decoded: list[StreamEvent] = []
    for item in events:
        data = item["data"]
        raw = data.encode() if isinstance(data, str) else orjson.dumps(data)
        translator.translate(ServerSentEvent(item.get("event", "message"), raw), decoded)
    encoder = ChunkEncoder(
        "chatcmpl-golden",
        GOLDEN_CREATED,
        translator.upstream_model or "model",
        include_usage=True,
        meta=translator.meta,
    )
    chunks: list[Any] = []
    for event in decoded:
        chunks.extend(_rendered(encoder, event))
    return chunks


def _rendered(encoder: ChunkEncoder, event: StreamEvent) -> list[Any]:
    """What the caller reads for ``event``: chunk JSON, or the event's name."""
    match event:
        case TextDelta(text=text):
            return [_chunk(encoder.delta(text))]
        case ChoiceDelta():
            return [_chunk(encoder.choice_delta(event))]
        case Finish():
            return [_chunk(encoder.finish(event.reason, None, event.index))]
        case UsageReport(usage=usage):
            return [_chunk(encoder.usage(usage))]
        case UpstreamError(message=message):
            return [{"upstream_error": message}]
        case Malformed(reason=reason):
            return [{"malformed": reason}]
    return ["[DONE]"]


def _chunk(frame: bytes) -> Any:
    """A chunk without what every chunk repeats (id, object, created)."""
    chunk = orjson.loads(frame.removeprefix(b"data: "))
    for constant in ("id", "object", "created"):
        chunk.pop(constant, None)
    return chunk


def normalised(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = orjson.loads(path.read_bytes())
    return case


def case_paths() -> list[Path]:
    return sorted(CASES.glob("*.json"))
