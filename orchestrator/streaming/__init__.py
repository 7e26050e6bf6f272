"""Streaming through the orchestrator: ``stream: true`` answered as OpenAI SSE chunks.

- :mod:`.sse` decodes upstream server-sent events; :mod:`.translate` turns each provider's
  events into :mod:`.events`; :mod:`.chunks` encodes OpenAI ``chat.completion.chunk`` events.
- :mod:`.attempt` is the engine's upstream for streams: it reads up to the commit point
  (the first content token), so every earlier failure goes through the decision table.
- :mod:`.relay` relays the rest with an idle limit and ends every stream honestly.
"""
