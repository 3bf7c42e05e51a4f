"""Readiness: is a domain ready for the next step of its rollout, and how sure is that?

For each domain, over the soak (the time since it entered its current mode: the flag's
``updated_at``, or the guard's override if that is later), from the per-minute rollup in
PostgreSQL (every process's calls, per operation) and the open divergence groups:

* ``legacy`` is always ready for ``shadow``: shadowing changes nothing the caller sees.
* ``shadow`` is ready for ``live``, and ``live`` for ``async``, when every rule passes:
  the soak lasted ``min_minutes``; no divergence group of the domain is open; the async
  error rate is below ``max_error_rate``; and for **every operation that ran in the soak**,
  reads and writes alike, the divergence rate is below ``target_rate``, each at
  ``confidence`` (see :mod:`app.readiness_rules`). With zero divergences that takes
  ``comparisons_needed(target_rate, confidence)`` comparisons per operation: 2,995 for
  the default 0.1% at 95%. An operation with no traffic in the soak is not demanded.
* ``async`` is the last step: ``complete`` unless its error rate is above the limit.

Every rule is pass, inconclusive or fail. A failing rule makes the verdict ``blocked:``; else
a rule without enough data makes it ``inconclusive:`` with the comparisons still needed and
the operations that lack them; never a silent pass. The rollup is kept per minute, not per
mode, so the minute of a change counts toward the new mode. See docs/rollout.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, cast

from app.readiness_rules import (
    DIVERGENCE_RULE,
    ERROR_RULE,
    bound_rate,
    open_groups_rule,
    soak_rule,
)
from app.records import as_dict
from app.verdicts import Outcome, Verdict, comparisons_needed
from flags.model import MODES, FlagProvider, Mode, Override, overrides_in_force
from flags.transitions import RANK

if TYPE_CHECKING:
    from shadow.divergences import Divergences

__all__ = [
    "OperationFigures",
    "Readiness",
    "ReadinessRules",
    "assess",
    "assess_system",
    "rules_from",
    "soak_start",
]

LOOKBACK = timedelta(days=7)
#: An operation name for rollup rows that do not say which operation they count.
ALL_OPERATIONS = "(all operations)"


@dataclass(frozen=True, slots=True)
class ReadinessRules:
    """What a domain needs before its next step."""

    min_minutes: float = 30.0
    target_rate: float = 0.001
    confidence: float = 0.95
    max_error_rate: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.target_rate < 1:
            raise ValueError(f"target_rate must be within (0, 1), got {self.target_rate}")
        if not 0.5 < self.confidence < 1:
            raise ValueError(f"confidence must be within (0.5, 1), got {self.confidence}")

    @property
    def comparisons_needed(self) -> int:
        """Comparisons without a divergence that bound one operation's rate below target."""
        return comparisons_needed(self.target_rate, self.confidence)


@dataclass(frozen=True, slots=True)
class OperationFigures:
    """One operation's counts over the soak.

    ``served`` counts the calls served in ``shadow``/``live``; of them ``comparisons`` were
    compared, ``skipped`` (by reason) were not, and ``health`` (by kind) failed on the
    shadow path itself. Only comparisons are evidence.
    """

    operation: str
    calls: int = 0
    comparisons: int = 0
    divergences: int = 0
    timeouts: int = 0
    served: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    health: dict[str, int] = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        """The share of served calls that were compared, or None before any was served."""
        return min(self.comparisons / self.served, 1.0) if self.served else None


@dataclass(frozen=True, slots=True)
class Readiness:
    """One domain's readiness for its next mode, with the evidence of every rule."""

    domain: str
    mode: Mode
    next_mode: Mode | None
    ready: bool
    verdict: str
    blockers: tuple[str, ...]
    since: datetime | None
    minutes_in_mode: float | None
    calls: int
    comparisons: int
    divergences: int
    open_groups: int
    served: int = 0
    error_rates: dict[str, float | None] = field(default_factory=dict)
    overridden_by: str | None = None
    outcome: Outcome = Outcome.PASS
    evidence: tuple[Verdict, ...] = ()
    operations: tuple[OperationFigures, ...] = ()
    needed_comparisons: int = 0
    target_rate: float | None = None
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, each rule's verdict as :meth:`Verdict.as_dict` gives it."""
        found = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        found["outcome"] = self.outcome.value
        found["evidence"] = [v.as_dict() for v in self.evidence]
        found["operations"] = [
            {**dataclasses.asdict(o), "coverage": o.coverage} for o in self.operations
        ]
        found["coverage"] = self.coverage
        return found

    @property
    def coverage(self) -> float | None:
        """The share of the calls served in shadow/live that were compared (None: none served)."""
        return min(self.comparisons / self.served, 1.0) if self.served else None


class FlagFields(TypedDict, total=False):
    """The fields readiness reads of a flag record (a ``FlagState``, or a dict in tests)."""

    domain: str
    mode: Mode
    updated_at: datetime | None


class RollupFields(TypedDict, total=False):
    """The fields readiness reads of a rollup record: one minute, or summed over the soak."""

    domain: str
    operation: str | None
    minute: datetime
    calls: int
    comparisons: int
    divergences: int
    timeouts: int | None
    errors: Mapping[str, int] | None
    served: int | None
    skipped: Mapping[str, int] | None
    health: Mapping[str, int] | None


class ReadinessSources(Protocol):
    """What readiness reads from an open system: its flags and its divergence rollup."""

    @property
    def flags(self) -> FlagProvider:
        """The flag provider, with its overrides if it has them."""
        ...

    @property
    def divergences(self) -> Divergences:
        """The divergence groups and the per-minute rollup."""
        ...


class ReadinessSettings(Protocol):
    """The ``DUALPATH_READINESS_*`` settings (``app.settings.Settings`` has them)."""

    readiness_min_minutes: float
    readiness_target_rate: float
    readiness_confidence: float
    readiness_max_error_rate: float


def rules_from(settings: ReadinessSettings) -> ReadinessRules:
    """The rules from ``DUALPATH_READINESS_*``."""
    return ReadinessRules(
        min_minutes=settings.readiness_min_minutes,
        target_rate=settings.readiness_target_rate,
        confidence=settings.readiness_confidence,
        max_error_rate=settings.readiness_max_error_rate,
    )


def assess(
    flags: Iterable[object],
    rollup: Iterable[object],
    open_groups: Iterable[object],
    overrides: Mapping[str, Override],
    now: datetime,
    rules: ReadinessRules,
) -> list[Readiness]:
    """Each flag's readiness, from rollup rows and open groups of any number of domains.

    Rollup rows are per minute (they carry ``minute`` and are counted from the soak's first
    minute) or already summed over the soak (no ``minute``); each names its ``operation``.
    """
    rows = [cast(RollupFields, as_dict(r)) for r in rollup]
    groups = [as_dict(g) for g in open_groups]
    found = []
    for record in flags:
        state = cast(FlagFields, as_dict(record))
        found.append(_one(state, overrides.get(state["domain"]), rows, groups, now, rules))
    return found


async def assess_system(
    system: ReadinessSources, rules: ReadinessRules, now: datetime | None = None
) -> list[Readiness]:
    """Readiness of every domain of an open system, from its rollup in PostgreSQL."""
    now = now or datetime.now(UTC)
    flags = await system.flags.list()
    overrides = overrides_in_force(system.flags)
    starts = {}
    for record in flags:
        state = cast(FlagFields, as_dict(record))
        start = soak_start(state, overrides.get(state["domain"]))[1]
        starts[state["domain"]] = _minute(start) if start else now - LOOKBACK
    totals = await system.divergences.operation_totals(starts)
    groups = await system.divergences.groups(status="open", limit=100_000)
    return assess(flags, totals, groups, overrides, now, rules)


def soak_start(state: FlagFields, override: Override | None) -> tuple[Mode, datetime | None]:
    """The mode a domain runs and since when: its flag, or an override that caps it."""
    mode, since = state["mode"], state.get("updated_at")
    if override is not None and RANK[override.mode] < RANK[mode]:
        mode, since = override.mode, override.created_at
    return mode, since


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _one(
    state: FlagFields,
    override: Override | None,
    rows: Sequence[RollupFields],
    groups: Sequence[Mapping[str, object]],
    now: datetime,
    rules: ReadinessRules,
) -> Readiness:
    domain = state["domain"]
    mode, since = soak_start(state, override)
    operations = _operations(rows, domain, _minute(since) if since else None)
    errors = _errors(rows, domain, _minute(since) if since else None)
    calls = sum(o.calls for o in operations)
    minutes = (now - since).total_seconds() / 60 if since else None
    here = [g for g in groups if g["domain"] == domain]
    named = tuple(f"{g['operation']} {g['signature']}" for g in here if "signature" in g)
    open_count = len(here)
    evidence = _evidence(mode, minutes, (open_count, named), operations, errors, calls, rules)
    outcome = _overall(evidence)
    next_mode = _next(mode)
    blockers = tuple(_reason(v) for v in _ordered(evidence))
    needed = sum(v.needed or 0 for v in evidence if v.rule == DIVERGENCE_RULE)
    return Readiness(
        domain=domain,
        mode=mode,
        next_mode=next_mode,
        ready=outcome is Outcome.PASS,
        verdict=_verdict(outcome, next_mode, evidence, needed),
        blockers=blockers,
        since=since,
        minutes_in_mode=minutes,
        calls=calls,
        comparisons=sum(o.comparisons for o in operations),
        divergences=sum(o.divergences for o in operations),
        open_groups=open_count,
        served=sum(o.served for o in operations),
        error_rates={p: (n / calls if calls else None) for p, n in errors.items()},
        overridden_by=override.actor if override is not None else None,
        outcome=outcome,
        evidence=evidence,
        operations=operations,
        needed_comparisons=needed,
        target_rate=rules.target_rate,
        confidence=rules.confidence,
    )


def _mine(rows: Sequence[RollupFields], domain: str, start: datetime | None) -> list[RollupFields]:
    return [
        r
        for r in rows
        if r["domain"] == domain
        and (start is None or r.get("minute") is None or r["minute"] >= start)
    ]


def _operations(
    rows: Sequence[RollupFields], domain: str, start: datetime | None
) -> tuple[OperationFigures, ...]:
    """Per operation that ran in the soak: calls, comparisons, divergences and coverage.

    A shadow that timed out or failed for an infrastructure reason is neither a comparison
    nor a divergence (the shadow path's health), so only comparisons are evidence.
    """
    sums: dict[str, OperationFigures] = {}
    for r in _mine(rows, domain, start):
        name = r.get("operation") or ALL_OPERATIONS
        sums[name] = _added(sums.get(name) or OperationFigures(name), r)
    return tuple(
        dataclasses.replace(o, divergences=min(o.divergences, o.comparisons))
        for _name, o in sorted(sums.items())
        if o.calls or o.served
    )


def _added(o: OperationFigures, row: RollupFields) -> OperationFigures:
    return OperationFigures(
        o.operation,
        o.calls + row["calls"],
        o.comparisons + row["comparisons"],
        o.divergences + row["divergences"],
        o.timeouts + (row.get("timeouts") or 0),
        o.served + (row.get("served") or 0),
        _sum_counts(o.skipped, row.get("skipped")),
        _sum_counts(o.health, row.get("health")),
    )


def _sum_counts(a: Mapping[str, int], b: Mapping[str, int] | None) -> dict[str, int]:
    total = dict(a)
    for name, n in (b or {}).items():
        total[name] = total.get(name, 0) + n
    return total


def _errors(rows: Sequence[RollupFields], domain: str, start: datetime | None) -> dict[str, int]:
    return {
        p: sum((r.get("errors") or {}).get(p, 0) for r in _mine(rows, domain, start))
        for p in ("legacy", "async")
    }


def _evidence(
    mode: Mode,
    minutes: float | None,
    open_groups: tuple[int, tuple[str, ...]],
    operations: Sequence[OperationFigures],
    errors: Mapping[str, int],
    calls: int,
    rules: ReadinessRules,
) -> tuple[Verdict, ...]:
    if mode == "legacy":
        return ()
    error_rule = bound_rate(
        ERROR_RULE, errors["async"], calls, rules.max_error_rate, rules.confidence, unit="calls"
    )
    if mode == "async":
        return (error_rule,) if calls else ()
    return (
        soak_rule(minutes, rules.min_minutes, mode),
        open_groups_rule(*open_groups),
        error_rule,
        *_divergence_rules(operations, rules),
    )


def _divergence_rules(
    operations: Sequence[OperationFigures], rules: ReadinessRules
) -> list[Verdict]:
    """One rule per operation that ran; with none, one inconclusive rule that says so."""
    target, confidence = rules.target_rate, rules.confidence
    if not operations:
        none = bound_rate(DIVERGENCE_RULE, 0, 0, target, confidence, unit="comparisons")
        detail = f"no operation compared yet: {none.needed:,} comparisons each"
        return [dataclasses.replace(none, detail=detail)]
    return [_divergence_rule(o, target, confidence) for o in operations]


def _divergence_rule(o: OperationFigures, target: float, confidence: float) -> Verdict:
    return bound_rate(
        DIVERGENCE_RULE, o.divergences, o.comparisons, target, confidence,
        unit="comparisons", label=o.operation,
    )  # fmt: skip


def _overall(evidence: Sequence[Verdict]) -> Outcome:
    outcomes = {v.outcome for v in evidence}
    if Outcome.FAIL in outcomes:
        return Outcome.FAIL
    if Outcome.INCONCLUSIVE in outcomes:
        return Outcome.INCONCLUSIVE
    return Outcome.PASS


def _ordered(evidence: Sequence[Verdict]) -> list[Verdict]:
    """The rules that did not pass: failures first, then those waiting for data."""
    failed = [v for v in evidence if v.outcome is Outcome.FAIL]
    waiting = [v for v in evidence if v.outcome is Outcome.INCONCLUSIVE]
    return failed + waiting


def _reason(verdict: Verdict) -> str:
    if verdict.rule != ERROR_RULE:
        return verdict.detail
    if verdict.outcome is Outcome.FAIL:
        return f"async {verdict.detail}"
    return f"async error rate: {verdict.detail}"


def _next(mode: Mode) -> Mode | None:
    index = RANK[mode] + 1
    return MODES[index] if index < len(MODES) else None


def _verdict(
    outcome: Outcome, next_mode: Mode | None, evidence: Sequence[Verdict], needed: int
) -> str:
    if outcome is Outcome.PASS:
        return f"ready for {next_mode}" if next_mode is not None else "complete: async only"
    failed = [_reason(v) for v in evidence if v.outcome is Outcome.FAIL]
    waiting = [
        _reason(v)
        for v in evidence
        if v.outcome is Outcome.INCONCLUSIVE and v.rule != DIVERGENCE_RULE
    ]
    lacking = [
        v.detail
        for v in evidence
        if v.outcome is Outcome.INCONCLUSIVE and v.rule == DIVERGENCE_RULE
    ]
    if lacking:
        waiting.append(f"needs {needed:,} more comparisons ({'; '.join(lacking)})")
    if outcome is Outcome.FAIL:
        return "blocked: " + "; ".join(failed + waiting)
    return "inconclusive: " + "; ".join(waiting)
