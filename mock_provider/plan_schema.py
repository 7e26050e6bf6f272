"""Parse the body of ``POST /config/failures`` into a fault plan, naming the field at fault.

Nothing is installed unless the whole body is valid, so a bad request leaves the plan in
force untouched. Unknown keys are rejected: a misspelt ``timeout_probabilty`` silently
ignored would make a demo lie.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from mock_provider.faults import (
    DEFAULT_FAIL_NEXT_FAULT,
    DEFAULT_OUTAGE_FAULT,
    FAULT_KINDS,
    PARAM_KEYS,
    PROVIDERS,
    FailNext,
    FaultParams,
    FaultPlan,
    Outage,
)

PROVIDER_CHOICES: Final = (*PROVIDERS, "both")

SEED_PROBABILITY_KEYS: Final[Mapping[str, str]] = {
    "timeout_probability": "timeout",
    "rate_limit_probability": "429",
    "server_error_probability": "500",
}
"""The seed's probability keys and the fault kind each one draws."""

_INT_PARAMS: Final = frozenset(
    {
        "retry_after_s",
        "retry_after_ms",
        "stream_cut_after_tokens",
        "stall_after_tokens",
        "malformed_event_after_tokens",
    }
)
_PLAN_KEYS: Final = frozenset(
    {"provider", "seed", "script", "fail_next", "outage", "rpm_limit", "faults"}
)
_KNOWN_KEYS: Final = _PLAN_KEYS | set(SEED_PROBABILITY_KEYS) | set(PARAM_KEYS.values())
_PROBABILITY_TOLERANCE: Final = 1e-9


class ControlError(ValueError):
    """Bad control input; ``param`` is the path of the field at fault (``script[2]``)."""

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "param": self.param}}


@dataclass(frozen=True, slots=True)
class PlanUpdate:
    """A validated ``POST /config/failures``: install ``plan`` for ``providers``."""

    plan: FaultPlan
    providers: tuple[str, ...]
    seed: int | None


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _expect(param: str, value: object, expected: str) -> ControlError:
    return ControlError(param, f"'{param}' must be {expected}, got {_type_name(value)}.")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _seconds(param: str, value: object) -> float:
    if not _is_number(value):
        raise _expect(param, value, "a number of seconds")
    seconds = float(value)  # type: ignore[arg-type]
    if seconds < 0:
        raise ControlError(param, f"'{param}' must not be negative, got {value}.")
    return seconds


def _integer(param: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _expect(param, value, "an integer")
    if value < minimum:
        raise ControlError(param, f"'{param}' must be at least {minimum}, got {value}.")
    return value


def _probability(param: str, value: object) -> float:
    if not _is_number(value):
        raise _expect(param, value, "a probability (a number from 0 to 1)")
    probability = float(value)  # type: ignore[arg-type]
    if not 0.0 <= probability <= 1.0:
        raise ControlError(param, f"'{param}' must be between 0 and 1, got {value}.")
    return probability


def _kind(param: str, value: object) -> str:
    if not isinstance(value, str):
        raise _expect(param, value, "a fault kind (a string)")
    if value not in FAULT_KINDS:
        known = ", ".join(sorted(FAULT_KINDS))
        raise ControlError(param, f"Unknown fault kind '{value}' in '{param}'; known: {known}.")
    return value


def _object(param: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _expect(param, value, "an object")
    return value


def _reject_unknown(param: str, body: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in body:
        if key not in known:
            path = f"{param}.{key}" if param else key
            raise ControlError(path, f"Unknown field '{path}'; known: {', '.join(sorted(known))}.")


def _providers(value: object) -> tuple[str, ...]:
    if value is None:
        return PROVIDERS
    if not isinstance(value, str):
        raise _expect("provider", value, "a string")
    if value not in PROVIDER_CHOICES:
        raise ControlError(
            "provider",
            f"Unknown provider '{value}'; choose one of {', '.join(PROVIDER_CHOICES)}.",
        )
    return PROVIDERS if value == "both" else (value,)


def _probabilities(body: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    chosen: dict[str, float] = {}
    for key, kind in SEED_PROBABILITY_KEYS.items():
        if key in body:
            chosen[kind] = _probability(key, body[key])
    if "faults" in body:
        for kind, value in _object("faults", body["faults"]).items():
            param = f"faults.{kind}"
            _kind(param, kind)
            if kind in chosen:
                raise ControlError(param, f"'{param}' repeats a seed probability key.")
            chosen[kind] = _probability(param, value)
    if sum(chosen.values()) > 1.0 + _PROBABILITY_TOLERANCE:
        raise ControlError("faults", "The fault probabilities add up to more than 1.")
    return tuple((kind, p) for kind, p in chosen.items() if p > 0)


def _script(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _expect("script", value, "an array of fault kinds")
    return tuple(_kind(f"script[{index}]", step) for index, step in enumerate(value))


def _fail_next(value: object) -> FailNext:
    body = _object("fail_next", value)
    _reject_unknown("fail_next", body, frozenset({"count", "fault"}))
    if "count" not in body:
        raise ControlError("fail_next.count", "'fail_next.count' is required.")
    return FailNext(
        count=_integer("fail_next.count", body["count"], 0),
        fault=_kind("fail_next.fault", body.get("fault", DEFAULT_FAIL_NEXT_FAULT)),
    )


def _outage(value: object) -> Outage:
    body = _object("outage", value)
    _reject_unknown("outage", body, frozenset({"duration_seconds", "fault"}))
    if "duration_seconds" not in body:
        raise ControlError("outage.duration_seconds", "'outage.duration_seconds' is required.")
    return Outage(
        duration_s=_seconds("outage.duration_seconds", body["duration_seconds"]),
        fault=_kind("outage.fault", body.get("fault", DEFAULT_OUTAGE_FAULT)),
    )


def _params(body: Mapping[str, Any]) -> FaultParams:
    values: dict[str, Any] = {}
    for attr, key in PARAM_KEYS.items():
        if key not in body:
            continue
        raw = body[key]
        if attr == "token_interval_s" and raw is None:
            continue  # null: back to the server's default pacing
        values[attr] = _integer(key, raw, 0) if attr in _INT_PARAMS else _seconds(key, raw)
    return FaultParams(**values)


def parse_plan_update(body: object) -> PlanUpdate:
    """Validate a ``POST /config/failures`` body; ``{}`` means healthy for both providers."""
    if not isinstance(body, dict):
        raise ControlError(None, f"The body must be a JSON object, got {_type_name(body)}.")
    obj: Mapping[str, Any] = body
    _reject_unknown("", obj, _KNOWN_KEYS)
    providers = _providers(obj.get("provider"))
    seed = obj.get("seed")
    if seed is not None:
        seed = _integer("seed", seed, 0)
    rpm = obj.get("rpm_limit")
    plan = FaultPlan(
        probabilities=_probabilities(obj),
        script=_script(obj["script"]) if "script" in obj else (),
        fail_next=_fail_next(obj["fail_next"]) if "fail_next" in obj else None,
        outage=_outage(obj["outage"]) if "outage" in obj else None,
        rpm_limit=None if rpm is None else _integer("rpm_limit", rpm, 1),
        params=_params(obj),
    )
    return PlanUpdate(plan=plan, providers=providers, seed=seed)
