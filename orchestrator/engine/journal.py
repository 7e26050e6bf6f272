"""The engine's journey log lines: one event per step, the deployment named on each."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from orchestrator.telemetry.logs import JOURNEY_LOGGER

if TYPE_CHECKING:
    from orchestrator.routing.router import Deployment

log: Final = logging.getLogger(JOURNEY_LOGGER)


def event(
    name: str, deployment: Deployment | None, level: int = logging.INFO, **fields: object
) -> None:
    if not log.isEnabledFor(level):
        return
    if deployment is not None:
        fields["provider"] = deployment.provider.name
        fields["model"] = deployment.model
    log.log(level, name, extra={"event": name, **fields})


def first_try_level(attempt_number: int) -> int:
    """A first attempt that just works is told by the access line alone; the rest at INFO."""
    return logging.DEBUG if attempt_number == 1 else logging.INFO


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)
