"""The reliability loop (:mod:`.loop`), one attempt over the wire (:mod:`.attempt`), the
values both return (:mod:`.results`) and the failures a request can end in
(:mod:`.failures`)."""

from orchestrator.engine.loop import Engine, EngineObserver, NullObserver, Upstream
from orchestrator.engine.results import (
    AttemptCall,
    AttemptResult,
    EngineResult,
    Failure,
    Success,
)

__all__ = [
    "AttemptCall",
    "AttemptResult",
    "Engine",
    "EngineObserver",
    "EngineResult",
    "Failure",
    "NullObserver",
    "Success",
    "Upstream",
]
