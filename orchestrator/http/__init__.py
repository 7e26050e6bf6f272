"""The inbound APIs: each handler parses (:mod:`.validation`), runs the engine and renders
(:mod:`.render`, :mod:`.openai_chunks`); :mod:`.context` gives every request its id, its
access line and an error body instead of a stack trace."""
