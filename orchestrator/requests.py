"""What the engine runs: a chat request (from either chat API) or an embeddings request.

Both carry what routing, the engine and telemetry read (``model``, ``preferred_provider``,
``fallbacks``, ``stream``, ``n``, ``estimated_prompt_tokens()``); only the adapters and the
caller APIs look further.
"""

from __future__ import annotations

from shared.embeddings import EmbeddingRequest
from shared.models import ChatRequest

RoutedRequest = ChatRequest | EmbeddingRequest

__all__ = ["ChatRequest", "EmbeddingRequest", "RoutedRequest"]
