"""The migration map: calling services as rows, domains as columns, one cell per pair.

A cell says, over the last ``window`` minutes of every process's calls (the per-service
rollup): the share answered by the async path, calls per minute, comparisons, divergences and
errors; the open divergence groups this service's calls hit; the mode the domain's flag gives
this service and whether the flag names it; the service's readiness (``app.service_readiness``,
over the time since the flag last changed); and the next step for this service alone, if
there is one that moves no other service.

The next step is a flag change, made through the ordinary flag API (same token, same audit,
same transition rules). A flag holds one mode and a list of services, so a step can move one
service alone only when:

- the flag is ``legacy`` for everyone: it becomes ``shadow`` for this service only;
- the flag names this service only: its mode steps forward;
- the flag is ``shadow`` for other services and this one runs legacy: it is added to the list.

Otherwise the step would move other services too, and the cell says so instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.service_readiness import ServiceReadiness, assess_service
from flags.model import MODES, SAFE_MODE, FlagProvider, FlagState, Mode, override_of
from flags.transitions import RANK
from routing.services import OTHER, RESERVED, UNATTRIBUTED
from shadow.pool import LazyPool
from shadow.service_counts import ServiceCell
from shadow.service_store import ServiceFigures, open_divergences, service_figures

if TYPE_CHECKING:
    from app.bootstrap import System

__all__ = ["Cell", "Row", "ServiceMap", "Step", "build_map", "fetch_map", "load_map", "step_for"]

WINDOW_MINUTES = 15
LOOKBACK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Step:
    """A flag change that moves one service one step forward, and nothing else."""

    domain: str
    service: str
    mode: Mode
    percent: int
    services: tuple[str, ...]

    def body(self, reason: str | None = None) -> dict[str, Any]:
        """The body of ``PUT /api/flags/{domain}`` that makes this change."""
        return {
            "mode": self.mode,
            "percent": self.percent,
            "services": list(self.services),
            "reason": reason or f"migration map: {self.service} to {self.mode}",
        }


def service_mode(flag: FlagState, service: str) -> Mode:
    """The mode ``flag`` gives ``service``'s calls (within its percent)."""
    if flag.services is not None and service not in flag.services:
        return SAFE_MODE
    return flag.mode if flag.percent > 0 else SAFE_MODE


def step_for(flag: FlagState, service: str) -> tuple[Step | None, str | None]:
    """The step that moves only ``service`` forward in ``flag``'s domain, or why there is none."""
    if service in RESERVED:
        return None, f"{service} calls cannot be targeted: they name no service"
    current = service_mode(flag, service)
    if current == MODES[-1]:
        return None, f"{service} already runs {current}, the last step"
    wanted = MODES[RANK[current] + 1]
    listed = flag.services
    if listed is None:
        if flag.mode == SAFE_MODE:
            return Step(flag.domain, service, wanted, flag.percent, (service,)), None
        return None, f"every service runs {flag.mode}: {service} cannot move alone"
    if service in listed:
        if listed == frozenset({service}):
            return Step(flag.domain, service, wanted, flag.percent, (service,)), None
        others = ", ".join(sorted(listed - {service}))
        return None, f"the flag also names {others}: stepping it would move them too"
    if flag.mode == wanted:
        return Step(
            flag.domain, service, wanted, flag.percent, tuple(sorted(listed | {service}))
        ), None
    return None, f"the flag runs {', '.join(sorted(listed))} in {flag.mode}: {service} cannot join"


@dataclass
class Cell:
    """One service in one domain."""

    service: str
    domain: str
    mode: Mode
    targeted: bool
    figures: ServiceCell = field(default_factory=ServiceCell)
    minutes: float = float(WINDOW_MINUTES)
    open_signatures: list[str] = field(default_factory=list)
    step: Step | None = None
    step_refused: str | None = None
    readiness: ServiceReadiness | None = None

    @property
    def calls(self) -> int:
        """Calls in the window."""
        return self.figures.calls

    @property
    def async_share(self) -> float | None:
        """The share of calls answered by the async path, or None without calls."""
        return self.figures.async_answered / self.calls if self.calls else None

    @property
    def calls_per_minute(self) -> float:
        """Calls per minute over the window (or since the first call, if later)."""
        return self.calls / self.minutes if self.minutes else 0.0

    @property
    def open_divergences(self) -> int:
        """Open divergence groups this service's calls hit."""
        return len(self.open_signatures)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        f = self.figures
        return {
            "service": self.service,
            "domain": self.domain,
            "mode": self.mode,
            "targeted": self.targeted,
            "calls": f.calls,
            "calls_per_minute": round(self.calls_per_minute, 2),
            "async_share": self.async_share,
            "legacy_answered": f.legacy_answered,
            "async_answered": f.async_answered,
            "errors": {"legacy": f.legacy_errors, "async": f.async_errors},
            "comparisons": f.comparisons,
            "divergences": f.divergences,
            "timeouts": f.timeouts,
            "shadow_errors": f.shadow_errors,
            "open_divergences": self.open_divergences,
            "open_signatures": self.open_signatures,
            "step": self.step.body() if self.step else None,
            "step_refused": self.step_refused,
            "readiness": self.readiness.as_dict() if self.readiness else None,
        }


@dataclass
class Row:
    """One calling service across every domain."""

    service: str
    kind: str  # configured, seen, unattributed or other
    cells: list[Cell]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data, cells keyed by domain."""
        return {
            "service": self.service,
            "kind": self.kind,
            "cells": {c.domain: c.as_dict() for c in self.cells},
        }


@dataclass
class ServiceMap:
    """Every row of the map, and what it was built from."""

    generated_at: datetime
    window_minutes: int
    domains: list[str]
    rows: list[Row]

    def cell(self, service: str, domain: str) -> Cell | None:
        """One cell, if the map has that row and column."""
        for row in self.rows:
            if row.service == service:
                return next((c for c in row.cells if c.domain == domain), None)
        return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (``GET /api/services``, ``dualpath services --json``)."""
        return {
            "generated_at": self.generated_at.isoformat(),
            "window_minutes": self.window_minutes,
            "domains": self.domains,
            "services": [row.as_dict() for row in self.rows],
        }


@dataclass(frozen=True, slots=True)
class MapInputs:
    """What a map is built from, already fetched."""

    flags: Sequence[FlagState]
    window: Sequence[ServiceFigures]
    since_change: Sequence[ServiceFigures]
    open_groups: Mapping[tuple[str, str], list[str]]
    configured: Sequence[str]
    threshold: float
    overrides: Mapping[str, Mode] = field(default_factory=dict)


def build_map(inputs: MapInputs, now: datetime, window_minutes: int = WINDOW_MINUTES) -> ServiceMap:
    """The map from fetched figures (pure: no I/O)."""
    flags = {f.domain: f for f in inputs.flags}
    window = {(f.service, f.domain): f for f in inputs.window}
    since = {(f.service, f.domain): f.cell for f in inputs.since_change}
    rows = []
    for service, kind in _services(inputs, window):
        cells = []
        for domain, flag in flags.items():
            cell = _cell(
                service,
                flag,
                inputs.overrides.get(domain),
                window.get((service, domain)),
                now,
                window_minutes,
            )
            cell.open_signatures = list(inputs.open_groups.get((service, domain), []))
            counted = since.get((service, domain), ServiceCell())
            cell.readiness = assess_service(
                service, domain, cell.mode, comparisons=counted.comparisons,
                divergences=counted.divergences, open_groups=cell.open_divergences,
                threshold=inputs.threshold, since=flag.updated_at,
            )  # fmt: skip
            cells.append(cell)
        rows.append(Row(service, kind, cells))
    return ServiceMap(now, window_minutes, list(flags), rows)


def _cell(
    service: str,
    flag: FlagState,
    held_at: Mode | None,
    figures: ServiceFigures | None,
    now: datetime,
    window_minutes: int,
) -> Cell:
    mode = service_mode(flag, service)
    if held_at is not None and RANK[held_at] < RANK[mode]:
        mode = held_at
    targeted = flag.services is not None and service in flag.services
    step, refused = step_for(flag, service)
    cell = Cell(service, flag.domain, mode, targeted, step=step, step_refused=refused)
    if figures is not None:
        cell.figures = figures.cell
        if figures.first_minute is not None:
            span = (now - figures.first_minute).total_seconds() / 60
            cell.minutes = min(float(window_minutes), max(1.0, span))
    return cell


def _services(
    inputs: MapInputs, window: Mapping[tuple[str, str], ServiceFigures]
) -> list[tuple[str, str]]:
    """Rows in order: configured, then seen or targeted (sorted), unattributed, other if seen."""
    seen = {service for service, _ in window}
    for flag in inputs.flags:
        seen |= set(flag.services or ())
    rows = [(name, "configured") for name in inputs.configured]
    rows += [(name, "seen") for name in sorted(seen - set(inputs.configured) - RESERVED)]
    rows.append((UNATTRIBUTED, "unattributed"))
    if OTHER in seen:
        rows.append((OTHER, "other"))
    return rows


async def load_map(
    system: System, window_minutes: int = WINDOW_MINUTES, now: datetime | None = None
) -> ServiceMap:
    """Fetch what the map needs from ``system`` and build it."""
    return await fetch_map(
        system.flags,
        system.attribution.writer.pool,
        configured=system.attribution.names.configured,
        threshold=system.settings.guard_max_divergence_rate,
        window_minutes=window_minutes,
        now=now,
    )


async def fetch_map(
    provider: FlagProvider,
    pool: LazyPool,
    *,
    configured: Sequence[str],
    threshold: float,
    window_minutes: int = WINDOW_MINUTES,
    now: datetime | None = None,
) -> ServiceMap:
    """The map from a flag provider and the database behind ``pool`` (no running router needed)."""
    now = now or datetime.now(UTC)
    flags = list(await provider.list())
    window = await service_figures(pool, now - timedelta(minutes=window_minutes))
    since_change: list[ServiceFigures] = []
    for flag in flags:
        since = max(flag.updated_at or now - LOOKBACK, now - LOOKBACK)
        since_change += await service_figures(pool, _minute_floor(since), domain=flag.domain)
    inputs = MapInputs(
        flags=flags,
        window=window,
        since_change=since_change,
        open_groups=await open_divergences(pool),
        configured=configured,
        threshold=threshold,
        overrides=_overrides(provider, flags),
    )
    return build_map(inputs, now, window_minutes)


def _minute_floor(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _overrides(provider: FlagProvider, flags: Iterable[FlagState]) -> dict[str, Mode]:
    """The mode each domain is held at by a guard override, where there is one."""
    held = {}
    for flag in flags:
        override = override_of(provider, flag.domain)
        if override is not None:
            held[flag.domain] = override.mode
    return held
