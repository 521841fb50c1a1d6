"""A tenant's rules: what it may set, within which bounds, and what a decision applies.

The stage's config gives every default and the safe bounds of the face thresholds
(`StagePolicy`); a tenant sets any of SETTING_NAMES (`GET/PUT .../settings`); what a
decision applies is the tenant's value where it set one, else the stage's (`TenantRules`).
A tenant's stored value the stage's bounds no longer allow is brought back within them (the
stage's own defaults are used as configured). No I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.decision import Rules

SETTING_NAMES = (
    "verify_threshold",
    "review_threshold",
    "require_liveness",
    "require_license_check",
    "duplicate_check",
    "max_attempts",
    "accepted_id_types",
)
BOOLEAN_SETTINGS = ("require_liveness", "require_license_check", "duplicate_check")
MAX_ATTEMPTS_LIMIT = 100  # the most a tenant may set (null: no limit)


@dataclass(frozen=True)
class StagePolicy:
    """The stage's defaults for every setting and the bounds a tenant's thresholds must keep."""

    verify_threshold: float
    review_threshold: float
    clear_confidence: float
    require_liveness: bool
    require_license_check: bool
    duplicate_check: bool
    max_attempts: int | None
    accepted_id_types: tuple[str, ...]
    id_types: tuple[str, ...]  # every id_type the service knows
    verify_bounds: tuple[float, float]
    review_bounds: tuple[float, float]

    def default(self, name: str) -> Any:
        value = getattr(self, name)
        return list(value) if isinstance(value, tuple) else value

    def bounds(self) -> dict[str, dict[str, float]]:
        return {
            "verify_threshold": {"min": self.verify_bounds[0], "max": self.verify_bounds[1]},
            "review_threshold": {"min": self.review_bounds[0], "max": self.review_bounds[1]},
        }


@dataclass(frozen=True)
class Problem:
    field: str
    problem: str
    message: str


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def parse_overrides(body: dict[str, Any], policy: StagePolicy) -> tuple[dict[str, Any], list[Problem]]:
    """A PUT body -> the tenant's own values (absent or null: follow the stage), and the problems.

    PUT replaces the tenant's settings: what the body leaves out follows the stage again."""
    problems: list[Problem] = []
    unknown = sorted(set(body) - set(SETTING_NAMES) - {"stage", "tenant"})
    problems += [Problem(name, "unknown", f"unknown setting: {name}") for name in unknown]
    out: dict[str, Any] = {}
    for name, (low, high) in (("verify_threshold", policy.verify_bounds), ("review_threshold", policy.review_bounds)):
        if body.get(name) is None:
            continue
        number = _number(body[name])
        if number is None:
            problems.append(Problem(name, "type", f"{name} must be a number"))
        elif not low <= number <= high:
            problems.append(
                Problem(name, "out_of_bounds", f"{name} must be within the stage's bounds ({low:g} to {high:g})")
            )
        else:
            out[name] = number
    for name in BOOLEAN_SETTINGS:
        if body.get(name) is not None:
            if isinstance(body[name], bool):
                out[name] = body[name]
            else:
                problems.append(Problem(name, "type", f"{name} must be true, false or null"))
    if body.get("max_attempts") is not None:
        value = body["max_attempts"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ATTEMPTS_LIMIT:
            problems.append(
                Problem(
                    "max_attempts",
                    "invalid",
                    f"max_attempts must be a whole number from 1 to {MAX_ATTEMPTS_LIMIT}, or null",
                )
            )
        else:
            out["max_attempts"] = value
    if body.get("accepted_id_types") is not None:
        value = body["accepted_id_types"]
        if (
            not isinstance(value, list)
            or not value
            or len(set(map(str, value))) != len(value)
            or any(t not in policy.id_types for t in value)
        ):
            problems.append(
                Problem(
                    "accepted_id_types",
                    "invalid",
                    "accepted_id_types must be a non-empty list of distinct id types among: "
                    + ", ".join(policy.id_types),
                )
            )
        else:
            out["accepted_id_types"] = [t for t in policy.id_types if t in value]  # the service's order
    if not problems:
        verify = out.get("verify_threshold", policy.verify_threshold)
        review = out.get("review_threshold", policy.review_threshold)
        if review > verify:
            problems.append(
                Problem(
                    "review_threshold",
                    "above_verify_threshold",
                    f"review_threshold must not exceed verify_threshold ({verify:g})",
                )
            )
    return out, problems


def _within(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


@dataclass(frozen=True)
class TenantRules:
    """The rules a tenant's decisions apply: its own values over the stage's defaults."""

    values: dict[str, Any]
    tenant_set: frozenset[str] = field(default_factory=frozenset)
    clear_confidence: float = 85.0

    @classmethod
    def of(cls, policy: StagePolicy, overrides: dict[str, Any] | None) -> TenantRules:
        own = {k: v for k, v in (overrides or {}).items() if k in SETTING_NAMES and v is not None}
        values = {name: own.get(name, policy.default(name)) for name in SETTING_NAMES}
        # the bounds hold a tenant's values; the stage's own defaults are used as configured
        if "verify_threshold" in own:
            values["verify_threshold"] = _within(float(values["verify_threshold"]), policy.verify_bounds)
        if "review_threshold" in own:
            values["review_threshold"] = _within(float(values["review_threshold"]), policy.review_bounds)
        values["verify_threshold"] = float(values["verify_threshold"])
        values["review_threshold"] = min(float(values["review_threshold"]), values["verify_threshold"])
        values["accepted_id_types"] = [t for t in policy.id_types if t in values["accepted_id_types"]] or list(
            policy.accepted_id_types
        )
        max_attempts = values["max_attempts"]
        values["max_attempts"] = int(max_attempts) if max_attempts is not None else None
        for name in BOOLEAN_SETTINGS:
            values[name] = bool(values[name])
        return cls(values=values, tenant_set=frozenset(own), clear_confidence=policy.clear_confidence)

    @property
    def rules(self) -> Rules:
        return Rules(self.values["verify_threshold"], self.values["review_threshold"], self.clear_confidence)

    @property
    def defaults(self) -> list[str]:
        """The settings that follow the stage's config."""
        return [name for name in SETTING_NAMES if name not in self.tenant_set]

    def accepts(self, id_type: str) -> bool:
        return id_type in self.values["accepted_id_types"]

    @property
    def require_license_check(self) -> bool:
        return bool(self.values["require_license_check"])

    @property
    def require_liveness(self) -> bool:
        return bool(self.values["require_liveness"])

    @property
    def duplicate_check(self) -> bool:
        return bool(self.values["duplicate_check"])

    @property
    def max_attempts(self) -> int | None:
        value = self.values["max_attempts"]
        return int(value) if value is not None else None

    def as_check(self) -> dict[str, Any]:
        """`checks.rules` of a decision: every rule it applied, and which ones the tenant set."""
        return {
            **self.values,
            "clear_confidence": self.clear_confidence,
            "accepted_id_types": list(self.values["accepted_id_types"]),
            "tenant_set": sorted(self.tenant_set),
        }


def attempts_check(rejected: int, max_attempts: int) -> tuple[dict[str, Any], str | None]:
    """`checks.attempts` of a rejection, and the reason to add when it is the final one."""
    final = rejected >= max_attempts
    reason = (
        (f"{rejected} submissions were rejected, the most this service accepts ({max_attempts}): no further attempts")
        if final
        else None
    )
    return {"rejected": rejected, "max_attempts": max_attempts, "final": final}, reason
