"""Readiness: is a domain ready for the next step of its rollout, and if not, why not?

For each domain, over the time since it entered its current mode (the flag's ``updated_at``,
or the guard's override if that is later), from the per-minute rollup in PostgreSQL (every
process's calls) and the open divergence groups:

* ``legacy`` is always ready for ``shadow``: shadowing changes nothing the caller sees.
* ``shadow`` is ready for ``live``, and ``live`` for ``async``, when all of these hold:
  at least ``min_minutes`` in the mode; at least ``min_comparisons`` comparisons; no open
  divergence group of the domain (triage them: fix, or ignore with a reason); the async
  path's error rate at most ``max_error_rate``; the divergence rate at most
  ``max_divergence_rate``. Otherwise the verdict is ``blocked:`` and every reason.
* ``async`` is the last step: ``complete`` unless its errors show in the rollup.

The rollup is kept per minute, not per mode, so the minute of a change counts toward the new
mode. See docs/rollout.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flags.model import MODES, Mode
from flags.transitions import RANK

__all__ = ["Readiness", "ReadinessRules", "assess", "assess_system", "rules_from"]

LOOKBACK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ReadinessRules:
    """What a domain needs before its next step."""

    min_minutes: float = 30.0
    min_comparisons: int = 1000
    max_error_rate: float = 0.05
    max_divergence_rate: float = 0.01


@dataclass(frozen=True, slots=True)
class Readiness:
    """One domain's readiness for its next mode."""

    domain: str
    mode: str
    next_mode: str | None
    ready: bool
    verdict: str
    blockers: tuple[str, ...]
    since: datetime | None
    minutes_in_mode: float | None
    calls: int
    comparisons: int
    divergences: int
    open_groups: int
    error_rates: dict[str, float | None] = field(default_factory=dict)
    overridden_by: str | None = None


def rules_from(settings: Any) -> ReadinessRules:
    """The rules from ``DUALPATH_READINESS_*`` and the guard's rates."""
    return ReadinessRules(
        min_minutes=settings.readiness_min_minutes,
        min_comparisons=settings.readiness_min_comparisons,
        max_error_rate=settings.guard_max_error_rate,
        max_divergence_rate=settings.guard_max_divergence_rate,
    )


def assess(
    flags: Iterable[Any],
    rollup: Iterable[Any],
    open_groups: Iterable[Any],
    overrides: Mapping[str, Any],
    now: datetime,
    rules: ReadinessRules,
) -> list[Readiness]:
    """Each flag's readiness, from rollup rows and open groups of any number of domains."""
    rows = [as_dict(r) for r in rollup]
    groups = [as_dict(g) for g in open_groups]
    return [
        _one(as_dict(state), overrides.get(as_dict(state)["domain"]), rows, groups, now, rules)
        for state in flags
    ]


async def assess_system(system: Any, rules: ReadinessRules, now: datetime | None = None) -> Any:
    """Readiness of every domain of an open system."""
    now = now or datetime.now(UTC)
    store = getattr(system, "divergences", None)
    flags = await system.flags.list()
    rollup = await store.rollup(since=now - LOOKBACK) if store is not None else []
    groups = await store.groups(status="open", limit=100_000) if store is not None else []
    overrides_of = getattr(system.flags, "overrides", None)
    overrides = overrides_of() if overrides_of is not None else {}
    return assess(flags, rollup, groups, overrides, now, rules)


def _one(
    state: dict[str, Any],
    override: Any,
    rows: Sequence[dict[str, Any]],
    groups: Sequence[dict[str, Any]],
    now: datetime,
    rules: ReadinessRules,
) -> Readiness:
    domain, mode, since = state["domain"], state["mode"], state.get("updated_at")
    if override is not None and RANK[override.mode] < RANK[mode]:
        mode, since = override.mode, override.created_at
    start = since.replace(second=0, microsecond=0) if since else None
    mine = [r for r in rows if r["domain"] == domain and (start is None or r["minute"] >= start)]
    calls = sum(r["calls"] for r in mine)
    comparisons = sum(r["comparisons"] for r in mine)
    divergences = sum(r["divergences"] for r in mine)
    errors = {p: sum((r.get("errors") or {}).get(p, 0) for r in mine) for p in ("legacy", "async")}
    rates = {p: (n / calls if calls else None) for p, n in errors.items()}
    minutes = (now - since).total_seconds() / 60 if since else None
    open_count = sum(1 for g in groups if g["domain"] == domain)
    figures = _Figures(minutes, comparisons, divergences, open_count, rates)
    blockers = _blockers(mode, figures, rules)
    next_mode = _next(mode)
    verdict = _verdict(mode, next_mode, blockers)
    return Readiness(
        domain, mode, next_mode, not blockers, verdict, blockers, since, minutes, calls,
        comparisons, divergences, open_count, rates,
        override.actor if override is not None else None,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Figures:
    minutes: float | None
    comparisons: int
    divergences: int
    open_groups: int
    rates: dict[str, float | None]


def _blockers(mode: str, f: _Figures, rules: ReadinessRules) -> tuple[str, ...]:
    if mode == "legacy":
        return ()
    found = []
    async_rate = f.rates.get("async")
    if async_rate is not None and async_rate > rules.max_error_rate:
        found.append(f"async error rate {async_rate:.1%} > {rules.max_error_rate:.1%}")
    if mode == "async":
        return tuple(found)
    if f.open_groups:
        plural = "s" if f.open_groups != 1 else ""
        found.insert(0, f"{f.open_groups} open divergence group{plural}")
    rate = f.divergences / f.comparisons if f.comparisons else 0.0
    if rate > rules.max_divergence_rate:
        found.append(f"divergence rate {rate:.1%} > {rules.max_divergence_rate:.1%}")
    if f.minutes is not None and f.minutes < rules.min_minutes:
        found.append(f"{f.minutes:.0f} of {rules.min_minutes:g} minutes in {mode}")
    if f.comparisons < rules.min_comparisons:
        found.append(f"{f.comparisons} of {rules.min_comparisons} comparisons")
    return tuple(found)


def as_dict(record: Any) -> dict[str, Any]:
    """A flag state, rollup row or group as a dict (they come as dataclasses or mappings)."""
    if isinstance(record, Mapping):
        return dict(record)
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _next(mode: str) -> Mode | None:
    index = RANK[mode] + 1
    return MODES[index] if index < len(MODES) else None


def _verdict(mode: str, next_mode: str | None, blockers: Sequence[str]) -> str:
    if blockers:
        return "blocked: " + "; ".join(blockers)
    if next_mode is None:
        return "complete: async only"
    return f"ready for {next_mode}"
