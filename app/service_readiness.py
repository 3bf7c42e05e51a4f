"""Readiness per service: has this service's traffic in this domain been compared enough?

For one (service, domain), over the time since the domain's flag last changed, from the
per-service rollup (every process's calls) and the open divergence groups the service hit:

``service_open_divergences``
    fail while any open group was hit by this service's calls (triage it: fix, or ignore
    with a reason); pass with none. Groups are attributed by the calls that hit them.
``service_divergence_rate``
    the divergence rate of this service's comparisons against ``max_divergence_rate`` (the
    guard's, ``DUALPATH_GUARD_MAX_DIVERGENCE_RATE``). With no divergence it is the rule of
    three: pass from ``comparisons_needed(threshold)`` comparisons, else inconclusive and
    needing the rest. With divergences it is the one-sided Wilson upper bound: pass when it
    is at most the threshold, fail when the two-sided interval lies wholly above it,
    inconclusive in between.

The service's readiness is the worst of the two (fail, then inconclusive, then pass), each
verdict stated with its rule, n, estimate with interval, and threshold (``app.verdicts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.verdicts import Outcome, Verdict, comparisons_needed, wilson_interval, wilson_upper
from flags.model import MODES, Mode

__all__ = ["ServiceReadiness", "assess_service", "divergence_rate_verdict", "open_groups_verdict"]

RATE_RULE = "service_divergence_rate"
OPEN_RULE = "service_open_divergences"
CONFIDENCE = 0.95
_SEARCH_LIMIT = 10_000_000
_ORDER = {Outcome.FAIL: 0, Outcome.INCONCLUSIVE: 1, Outcome.PASS: 2}


@dataclass(frozen=True, slots=True)
class ServiceReadiness:
    """One service's readiness in one domain, and the verdicts behind it."""

    service: str
    domain: str
    mode: Mode
    next_mode: Mode | None
    outcome: Outcome
    verdicts: tuple[Verdict, ...]
    since: datetime | None

    def explain(self) -> str:
        """One line: the outcome and each verdict's evidence."""
        return f"{self.outcome.value}: " + " | ".join(v.explain() for v in self.verdicts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data for the API and the CLI."""
        return {
            "service": self.service,
            "domain": self.domain,
            "mode": self.mode,
            "next_mode": self.next_mode,
            "outcome": self.outcome.value,
            "since": self.since.isoformat() if self.since else None,
            "verdicts": [v.as_dict() for v in self.verdicts],
            "explanation": self.explain(),
        }


def assess_service(
    service: str,
    domain: str,
    mode: Mode,
    *,
    comparisons: int,
    divergences: int,
    open_groups: int,
    threshold: float,
    since: datetime | None = None,
) -> ServiceReadiness:
    """The readiness of ``service`` in ``domain`` from its counts since ``since``."""
    verdicts = (
        open_groups_verdict(open_groups),
        divergence_rate_verdict(comparisons, divergences, threshold, mode),
    )
    outcome = min((v.outcome for v in verdicts), key=_ORDER.__getitem__)
    index = MODES.index(mode) if mode in MODES else 0
    next_mode = MODES[index + 1] if index + 1 < len(MODES) else None
    return ServiceReadiness(service, domain, mode, next_mode, outcome, verdicts, since)


def open_groups_verdict(open_groups: int) -> Verdict:
    """Fail while the service has an open divergence group; pass with none."""
    outcome = Outcome.FAIL if open_groups else Outcome.PASS
    detail = "triage them: fix, or ignore with a reason" if open_groups else ""
    return Verdict(
        rule=OPEN_RULE,
        outcome=outcome,
        n={"open_groups": open_groups},
        estimate=float(open_groups),
        ci=None,
        threshold=0.0,
        detail=detail,
    )


def divergence_rate_verdict(
    comparisons: int, divergences: int, threshold: float, mode: Mode = "shadow"
) -> Verdict:
    """The service's divergence rate against ``threshold``; see the module docstring."""
    n, d = comparisons, min(divergences, comparisons)
    if n == 0:
        return _no_comparisons(threshold, mode)
    estimate, ci = d / n, wilson_interval(d, n, CONFIDENCE)
    if d == 0:
        needed = comparisons_needed(threshold, CONFIDENCE)
        outcome = Outcome.PASS if n >= needed else Outcome.INCONCLUSIVE
        return _rate(outcome, n, d, estimate, ci, threshold, None if n >= needed else needed - n,
                     f"rule of three: {needed:,} comparisons without a divergence")  # fmt: skip
    upper = wilson_upper(d, n, CONFIDENCE)
    if upper <= threshold:
        return _rate(Outcome.PASS, n, d, estimate, ci, threshold, None, "upper bound below")
    if ci[0] > threshold:
        return _rate(Outcome.FAIL, n, d, estimate, ci, threshold, None, "interval above")
    more = _more_needed(d, n, threshold)
    detail = "the observed rate is not below the threshold" if more is None else "bound too wide"
    return _rate(Outcome.INCONCLUSIVE, n, d, estimate, ci, threshold, more, detail)


def _no_comparisons(threshold: float, mode: Mode) -> Verdict:
    where = "nothing is compared in legacy: step to shadow" if mode == "legacy" else ""
    return Verdict(
        rule=RATE_RULE,
        outcome=Outcome.INCONCLUSIVE,
        n={"comparisons": 0, "divergences": 0},
        estimate=None,
        ci=None,
        threshold=threshold,
        confidence=CONFIDENCE,
        needed=comparisons_needed(threshold, CONFIDENCE),
        detail=where or "no comparison of this service's calls yet",
    )


def _rate(
    outcome: Outcome,
    n: int,
    d: int,
    estimate: float,
    ci: tuple[float, float],
    threshold: float,
    needed: int | None,
    detail: str,
) -> Verdict:
    return Verdict(
        rule=RATE_RULE,
        outcome=outcome,
        n={"comparisons": n, "divergences": d},
        estimate=estimate,
        ci=ci,
        threshold=threshold,
        confidence=CONFIDENCE,
        needed=needed,
        detail=detail,
    )


def _more_needed(d: int, n: int, threshold: float) -> int | None:
    """More comparisons at the observed rate before the upper bound falls to the threshold."""
    rate = d / n
    if rate >= threshold:
        return None
    high = n
    while wilson_upper(round(rate * high), high, CONFIDENCE) > threshold:
        high *= 2
        if high > _SEARCH_LIMIT:
            return None
    low = max(n, high // 2)
    while low < high:
        middle = (low + high) // 2
        if wilson_upper(round(rate * middle), middle, CONFIDENCE) <= threshold:
            high = middle
        else:
            low = middle + 1
    return max(high - n, 1)
