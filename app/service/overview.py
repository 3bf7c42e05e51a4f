"""The overview's figures per domain, from the flags, the per-minute rollup and open groups."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.records import as_dict, since_text
from app.service.sparkline import sparkline
from flags.model import FlagState, Mode

__all__ = ["WINDOW_MINUTES", "DomainCard", "domain_cards"]

WINDOW_MINUTES = 60
RECENT_MINUTES = 5
PATHS = ("legacy", "async")


@dataclass
class DomainCard:
    """What the overview shows for one domain."""

    domain: str
    mode: Mode
    percent: int
    services: list[str] | None
    in_mode_for: str
    updated_by: str | None
    calls_per_minute: float = 0.0
    calls: int = 0
    comparisons: int = 0
    divergences: int = 0
    timeouts: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PATHS, 0))
    p50_ms: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(PATHS))
    p99_ms: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(PATHS))
    open_groups: int = 0
    chart: str = ""
    served: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    health: dict[str, int] = field(default_factory=dict)

    @property
    def divergence_rate(self) -> float | None:
        """Divergences per comparison over the window, or None without comparisons."""
        return self.divergences / self.comparisons if self.comparisons else None

    @property
    def coverage(self) -> float | None:
        """The share of calls served in shadow/live that were compared; None if none was."""
        return min(self.comparisons / self.served, 1.0) if self.served else None

    def coverage_text(self, window: str = "the last hour") -> str:
        """E.g. "compared 96% of 40,112 calls in the last hour"."""
        if not self.served:
            return f"no call served in shadow or live in {window}"
        return f"compared {self.coverage:.0%} of {self.served:,} calls in {window}"


def domain_cards(
    flags: Iterable[FlagState],
    rollup: Iterable[object],
    open_groups: Iterable[object],
    now: datetime,
) -> list[DomainCard]:
    """One card per flag, filled from the rollup rows of the last hour and the open groups."""
    minutes = per_domain_minutes(rollup)
    groups = Counter(as_dict(g).get("domain") for g in open_groups)
    cards = []
    for state in flags:
        card = new_card(state, now)
        fill(card, minutes.get(card.domain, {}), now)
        card.open_groups = groups.get(card.domain, 0)
        cards.append(card)
    return cards


def new_card(state: FlagState, now: datetime) -> DomainCard:
    """A card with the flag's part filled in."""
    services = sorted(state.services) if state.services else None
    return DomainCard(
        domain=state.domain,
        mode=state.mode,
        percent=state.percent,
        services=services,
        in_mode_for=since_text(state.updated_at, now) if state.updated_at else "since start",
        updated_by=state.updated_by,
    )


def per_domain_minutes(rollup: Iterable[object]) -> dict[str, dict[datetime, dict[str, Any]]]:
    """Rows by domain and minute; the domain-wide row (operation None) wins over summing."""
    whole: dict[str, dict[datetime, dict[str, Any]]] = defaultdict(dict)
    summed: dict[str, dict[datetime, dict[str, Any]]] = defaultdict(dict)
    for record in rollup:
        row = as_dict(record)
        domain, minute = row["domain"], row["minute"]
        if row.get("operation") is None:
            whole[domain][minute] = row
        else:
            summed[domain][minute] = add_rows(summed[domain].get(minute), row)
    return {d: {**summed.get(d, {}), **whole.get(d, {})} for d in {*whole, *summed}}


def add_rows(total: dict[str, Any] | None, row: Mapping[str, Any]) -> dict[str, Any]:
    """Two rows of one minute added up; for percentiles, the slower operation's value."""
    if total is None:
        return {**row, "errors": dict(row.get("errors") or {})}
    for name in ("calls", "comparisons", "divergences", "timeouts", "served"):
        total[name] = total.get(name, 0) + row.get(name, 0)
    for name in ("skipped", "health"):
        total[name] = add_counts(total.get(name) or {}, row.get(name))
    for path, count in (row.get("errors") or {}).items():
        total["errors"][path] = total["errors"].get(path, 0) + count
    for name in ("latency_p50_ms", "latency_p99_ms"):
        total[name] = {p: _max(total[name].get(p), row[name].get(p)) for p in PATHS}
    return total


def add_counts(a: Mapping[str, int], b: Mapping[str, int] | None) -> dict[str, int]:
    """Counts by name, ``a`` and ``b`` added."""
    total = dict(a)
    for name, n in (b or {}).items():
        total[name] = total.get(name, 0) + n
    return total


def fill(card: DomainCard, minutes: Mapping[datetime, Mapping[str, Any]], now: datetime) -> None:
    """Add the window's counts, the latest percentiles and the chart to ``card``."""
    for row in minutes.values():
        card.calls += row.get("calls", 0)
        card.comparisons += row.get("comparisons", 0)
        card.divergences += row.get("divergences", 0)
        card.timeouts += row.get("timeouts", 0)
        card.served += row.get("served", 0)
        card.skipped = add_counts(card.skipped, row.get("skipped"))
        card.health = add_counts(card.health, row.get("health"))
        for path in PATHS:
            card.errors[path] += (row.get("errors") or {}).get(path, 0)
    recent = [r for m, r in minutes.items() if m >= now - timedelta(minutes=RECENT_MINUTES)]
    card.calls_per_minute = sum(r.get("calls", 0) for r in recent) / RECENT_MINUTES
    if minutes:
        latest = minutes[max(minutes)]
        card.p50_ms = {p: (latest.get("latency_p50_ms") or {}).get(p) for p in PATHS}
        card.p99_ms = {p: (latest.get("latency_p99_ms") or {}).get(p) for p in PATHS}
    card.chart = chart(card.domain, minutes, now)


def chart(domain: str, minutes: Mapping[datetime, Mapping[str, Any]], now: datetime) -> str:
    """Calls and divergences per minute over the last hour, oldest first, gaps as zero."""
    end = now.astimezone(UTC).replace(second=0, microsecond=0)
    slots = [end - timedelta(minutes=WINDOW_MINUTES - 1 - i) for i in range(WINDOW_MINUTES)]
    by_minute = {m.astimezone(UTC).replace(second=0, microsecond=0): r for m, r in minutes.items()}
    calls = [float(by_minute.get(s, {}).get("calls", 0)) for s in slots]
    diverged = [float(by_minute.get(s, {}).get("divergences", 0)) for s in slots]
    return sparkline(
        [("calls per minute", "calls", calls), ("divergences per minute", "div", diverged)],
        title=f"{domain}: calls and divergences per minute, last hour",
    )


def _max(a: float | None, b: float | None) -> float | None:
    values: Sequence[float] = [v for v in (a, b) if v is not None]
    return max(values) if values else None
