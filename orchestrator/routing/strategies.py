"""Route strategies: the order a route's deployments are tried in, from recent health.

- ``priority``: as configured (the default);
- ``weighted``: a random order drawn by weight (``weight`` per deployment; Efraimidis and
  Spirakis: the key ``u ** (1 / weight)``, largest first), so traffic splits by weight;
- ``least_latency``: the lowest recent latency (EWMA) first; a deployment not yet measured
  goes first, so it gets measured;
- ``success_rate``: the highest recent success share first, unmeasured ones as perfect;
- ``least_busy``: the fewest attempts in flight first.

Ties keep the configured order. Every strategy returns the order and a short reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from orchestrator.routing.health import HealthBoard

if TYPE_CHECKING:
    from orchestrator.routing.router import Deployment

Strategy = Callable[
    [Sequence["Deployment"], HealthBoard, Callable[[], float]],
    tuple[tuple["Deployment", ...], str],
]


def priority(
    deployments: Sequence[Deployment], health: HealthBoard, random: Callable[[], float]
) -> tuple[tuple[Deployment, ...], str]:
    return tuple(deployments), "configured order"


def weighted(
    deployments: Sequence[Deployment], health: HealthBoard, random: Callable[[], float]
) -> tuple[tuple[Deployment, ...], str]:
    keys = {d.key: max(random(), 1e-12) ** (1.0 / d.weight) for d in deployments}
    order = tuple(sorted(deployments, key=lambda d: keys[d.key], reverse=True))
    weights = ", ".join(f"{d.key} {d.weight:g}" for d in deployments)
    return order, f"drawn by weight ({weights})"


def least_latency(
    deployments: Sequence[Deployment], health: HealthBoard, random: Callable[[], float]
) -> tuple[tuple[Deployment, ...], str]:
    def latency(d: Deployment) -> float:
        measured = health.of(d.key).latency_s
        return -1.0 if measured is None else measured

    order = tuple(sorted(deployments, key=latency))
    shown = ", ".join(_latency_text(d, health) for d in order)
    return order, f"recent latency ({shown})"


def success_rate(
    deployments: Sequence[Deployment], health: HealthBoard, random: Callable[[], float]
) -> tuple[tuple[Deployment, ...], str]:
    def share(d: Deployment) -> float:
        measured = health.of(d.key).success
        return 1.0 if measured is None else measured

    order = tuple(sorted(deployments, key=share, reverse=True))
    shown = ", ".join(f"{d.key} {share(d):.0%}" for d in order)
    return order, f"recent success ({shown})"


def least_busy(
    deployments: Sequence[Deployment], health: HealthBoard, random: Callable[[], float]
) -> tuple[tuple[Deployment, ...], str]:
    order = tuple(sorted(deployments, key=lambda d: health.of(d.key).in_flight))
    shown = ", ".join(f"{d.key} {health.of(d.key).in_flight}" for d in order)
    return order, f"in flight ({shown})"


def _latency_text(deployment: Deployment, health: HealthBoard) -> str:
    measured = health.of(deployment.key).latency_s
    return f"{deployment.key} " + ("unmeasured" if measured is None else f"{measured * 1e3:.0f} ms")


STRATEGIES: Final[Mapping[str, Strategy]] = MappingProxyType(
    {
        "priority": priority,
        "weighted": weighted,
        "least_latency": least_latency,
        "success_rate": success_rate,
        "least_busy": least_busy,
    }
)
