"""Streaming, with no provider knowledge: :mod:`.sse` decodes server-sent events,
:mod:`.reader` holds an open upstream stream (its events translated by the provider's
translator into :mod:`orchestrator.answers`), :mod:`.commit` reads it up to the commit point
(the first content token), and :mod:`.relay` relays the rest through the caller's
:class:`~.relay.StreamRenderer`, ending every stream honestly.
"""
