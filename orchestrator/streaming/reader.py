"""An open upstream stream: reads bytes, decodes events, and keeps what they said.

The handle lives from the attempt that opened it (the pre-commit phase, inside the
engine's loop) to the end of the relay. It holds the text read before commit that the
client has not seen yet, the finish reason and usage once they arrive, and counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, TypeGuard

from orchestrator.answers import (
    ChoiceDelta,
    Completion,
    Done,
    Finish,
    Malformed,
    Relayable,
    StreamEvent,
    StreamTranslator,
    TextDelta,
    UpstreamError,
    UsageReport,
    completion_events,
)
from orchestrator.policies import StreamPolicy
from orchestrator.routing.router import Deployment
from orchestrator.streaming.sse import SSEDecoder
from orchestrator.telemetry.logs import JOURNEY_LOGGER
from orchestrator.transport.base import UpstreamAnswer
from shared.models import Usage

log: Final = logging.getLogger(JOURNEY_LOGGER)

MalformedHook = Callable[[Deployment, str], None]


class UpstreamStream:
    __slots__ = (
        "_decoder",
        "_on_malformed",
        "_response",
        "_translator",
        "_whole_id",
        "_whole_model",
        "backlog",
        "choices",
        "content_chunks",
        "deployment",
        "eof",
        "finish_index",
        "finish_reason",
        "finished",
        "malformed_events",
        "policy",
        "upstream_done",
        "usage",
    )

    def __init__(
        self,
        translator: StreamTranslator,
        deployment: Deployment,
        policy: StreamPolicy,
        on_malformed: MalformedHook,
        choices: int = 1,
    ) -> None:
        self._response: UpstreamAnswer | None = None  # None: nothing (left) to read
        self._decoder = SSEDecoder()
        self._translator = translator
        self._on_malformed = on_malformed
        self._whole_id: str | None = None
        self._whole_model: str | None = None
        self.deployment = deployment
        self.policy = policy
        self.choices = choices  # the request's n: the answer is whole when each has finished
        self.backlog: list[Relayable] = []  # read but not yet sent to the client
        self.content_chunks = 0
        self.malformed_events = 0
        self.finished: set[int] = set()
        self.finish_reason: str | None = None  # the last choice to finish: the ending's
        self.finish_index = 0
        self.usage: Usage | None = None
        self.upstream_done = False
        self.eof = False

    def attach(self, response: UpstreamAnswer) -> None:
        """Read the events of ``response`` (a 2xx ``text/event-stream``) from now on."""
        self._response = response

    def take_whole(self, completion: Completion) -> None:
        """The provider ignored ``stream`` and answered in one body: it is all backlog."""
        for event in completion_events(completion):
            self.absorb(event)
            if self.relayable(event):
                self.backlog.append(event)
        self.usage = completion.usage
        self._whole_id = completion.upstream_id
        body = completion.body or {}
        self._whole_model = body.get("model") if isinstance(body.get("model"), str) else None
        self.eof = True

    @property
    def upstream_id(self) -> str | None:
        return self._translator.upstream_id or self._whole_id

    @property
    def upstream_model(self) -> str | None:
        return self._translator.upstream_model or self._whole_model

    @property
    def meta(self) -> dict[str, object]:
        return self._translator.meta

    @property
    def started(self) -> bool:
        """Something the client can be sent exists: content, or a finish (an empty answer)."""
        return self.content_chunks > 0 or self.finish_reason is not None

    @property
    def all_finished(self) -> bool:
        return len(self.finished) >= self.choices

    def relayable(self, event: StreamEvent) -> TypeGuard[Relayable]:
        """Whether the client gets ``event`` as it comes (after :meth:`absorb` took it): any
        delta, and a finish while other choices still stream (the last is the ending's)."""
        if isinstance(event, Finish):
            return not self.all_finished
        return isinstance(event, TextDelta | ChoiceDelta)

    @property
    def complete(self) -> bool:
        """The answer is whole: every choice finished, with usage in or not coming any more."""
        if not self.all_finished:
            return False
        return (
            self.usage is not None
            or not self._translator.usage_follows_finish
            or self.upstream_done
            or self.eof
        )

    async def read(self) -> list[StreamEvent]:
        """The events in the next bytes to arrive; sets :attr:`eof` (and returns []) at the end.

        Raises what the transport raises and
        :class:`~orchestrator.streaming.sse.SSEProtocolError`; the caller times it and maps
        the exception (:func:`orchestrator.transport.errors.outcome_of`).
        """
        if self._response is None:
            self.eof = True
            return []
        chunk = await self._response.read_chunk()
        if not chunk:
            self.eof = True
            return []
        out: list[StreamEvent] = []
        translate = self._translator.translate
        for event in self._decoder.feed(chunk):
            translate(event, out)
        return out

    def absorb(self, event: StreamEvent) -> UpstreamError | None:
        """Record what ``event`` says; an upstream error event is returned for the caller."""
        match event:
            case TextDelta() | ChoiceDelta():
                self.content_chunks += 1
            case Finish(reason=reason, index=index):
                self.finished.add(index)
                self.finish_reason = reason
                self.finish_index = index
            case UsageReport(usage=usage):
                self.usage = usage
            case Done():
                self.upstream_done = True
            case Malformed(reason=reason):
                self.malformed_events += 1
                log.warning(
                    "stream_malformed_event",
                    extra={
                        "event": "stream_malformed_event",
                        "provider": self.deployment.provider.name,
                        "model": self.deployment.model,
                        "reason": reason,
                    },
                )
                self._on_malformed(self.deployment, reason)
            case UpstreamError():
                return event
        return None

    def close(self) -> None:
        """Let go of the upstream connection: reused when the body was read to its end,
        dropped otherwise, which is how the provider learns to stop generating."""
        if self._response is not None:
            self._response.close()
