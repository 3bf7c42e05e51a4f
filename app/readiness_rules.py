"""The readiness rules, each a :class:`~app.verdicts.Verdict` with its evidence.

A rate rule bounds a binomial rate (divergences per comparison, async errors per call) with
an interval whose two ends are one-sided bounds at the stated confidence:

* the upper end is the exact zero-event bound ``1 - (1 - c) ** (1 / n)`` when nothing was
  seen (the rule of three: about 3 / n at 95%), else the one-sided Wilson upper bound;
* the lower end is 0 when nothing was seen, else the one-sided Wilson lower bound.

The rule passes when the upper end is at or below the threshold (the rate is below it with
confidence c), fails when the lower end is above it (the rate is above it with confidence c),
and is inconclusive in between, naming how many more samples would make it pass if none of
them diverged. Read as a two-sided interval, the ends cover ``2c - 1`` (90% for c = 95%),
which is the confidence the verdict states.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from app.verdicts import Outcome, Verdict, comparisons_needed, wilson_interval, wilson_upper
from flags.model import Mode

__all__ = [
    "DIVERGENCE_RULE",
    "ERROR_RULE",
    "OPEN_GROUPS_RULE",
    "SOAK_RULE",
    "bound_rate",
    "cells",
    "open_groups_rule",
    "percent_text",
    "rate_bounds",
    "samples_needed",
    "soak_rule",
]

SOAK_RULE = "soak_time"
OPEN_GROUPS_RULE = "open_divergence_groups"
ERROR_RULE = "async_error_rate"
DIVERGENCE_RULE = "divergence_rate"


def rate_bounds(events: int, n: int, confidence: float) -> tuple[float, float]:
    """One-sided lower and upper bounds on a rate at ``confidence`` each; (0, 1) for n = 0."""
    if n <= 0:
        return (0.0, 1.0)
    if events == 0:
        return (0.0, 1 - (1 - confidence) ** (1 / n))
    lower = wilson_interval(events, n, 2 * confidence - 1)[0]
    return (lower, wilson_upper(events, n, confidence))


def samples_needed(events: int, threshold: float, confidence: float) -> int:
    """The fewest samples holding ``events`` whose upper bound is at or below ``threshold``."""
    if events == 0:
        n = max(1, comparisons_needed(threshold, confidence) - 1)
        while _upper(events, n, confidence) > threshold:
            n += 1
        return n
    low, high = events, max(events, 1)
    while _upper(events, high, confidence) > threshold:
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        if _upper(events, middle, confidence) > threshold:
            low = middle + 1
        else:
            high = middle
    return high


def _upper(events: int, n: int, confidence: float) -> float:
    return rate_bounds(events, n, confidence)[1]


def bound_rate(
    rule: str,
    events: int,
    n: int,
    threshold: float,
    confidence: float,
    *,
    unit: str,
    label: str = "",
) -> Verdict:
    """Is the rate ``events / n`` below ``threshold`` at ``confidence``? Pass, fail or wait.

    ``unit`` names what ``n`` counts (``comparisons``, ``calls``); ``label`` (an operation)
    leads the human line in ``detail``.
    """
    lower, upper = rate_bounds(events, n, confidence)
    estimate = events / n if n else None
    figures = {"events": events, "lower_bound": lower, "upper_bound": upper}
    if n and upper <= threshold:
        outcome, needed = Outcome.PASS, None
    elif n and lower > threshold:
        outcome, needed = Outcome.FAIL, None
    else:
        outcome, needed = Outcome.INCONCLUSIVE, samples_needed(events, threshold, confidence) - n
    total = n + needed if needed is not None else None
    detail = _rate_line(outcome, events, n, total, lower, upper, threshold, confidence, unit)
    return Verdict(
        rule=rule,
        outcome=outcome,
        n={unit: n},
        estimate=estimate,
        ci=(lower, upper) if n else None,
        threshold=threshold,
        confidence=round(2 * confidence - 1, 6),
        needed=needed,
        detail=f"{label}: {detail}" if label else detail,
        extra={**figures, "one_sided_confidence": confidence, "needed_total": total}
        | ({"operation": label} if label else {}),
    )


def _rate_line(
    outcome: Outcome,
    events: int,
    n: int,
    total: int | None,
    lower: float,
    upper: float,
    threshold: float,
    confidence: float,
    unit: str,
) -> str:
    """``412 of 2,995 comparisons`` or ``rate 2.5% > 0.1% (5 in 200 comparisons, ...)``."""
    level = f"{confidence:.0%}"
    seen = _events(events, unit)
    if outcome is Outcome.FAIL:
        return (
            f"{_rate_name(unit)} {percent_text(events / n)} > {percent_text(threshold)} "
            f"({events:,} in {n:,} {unit}, {level} lower bound {percent_text(lower)})"
        )
    if outcome is Outcome.PASS:
        bound = f"{level} upper bound {percent_text(upper)} <= {percent_text(threshold)}"
        return f"{n:,} {unit}, {seen}: {bound}"
    if events == 0:
        return f"{n:,} of {total:,} {unit}"
    bound = f"{level} upper bound {percent_text(upper)} > {percent_text(threshold)}"
    return f"{seen} in {n:,} of {total:,} {unit} ({bound})"


def _rate_name(unit: str) -> str:
    return "error rate" if unit == "calls" else "divergence rate"


def _events(events: int, unit: str) -> str:
    noun = "error" if unit == "calls" else "divergence"
    return f"{events:,} {noun}{'s' if events != 1 else ''}"


def percent_text(value: float) -> str:
    """A rate as a short percentage: 0.1%, 0.072%, 2.5%, 10.0%."""
    percent = value * 100
    if percent == 0:
        return "0%"
    if percent >= 1:
        return f"{percent:.1f}%"
    digits = max(1, 1 - math.floor(math.log10(percent)))
    return f"{percent:.{digits}f}".rstrip("0").rstrip(".") + "%"


def soak_rule(minutes: float | None, min_minutes: float, mode: Mode) -> Verdict:
    """Has the domain been in ``mode`` for ``min_minutes``? Too soon is inconclusive."""
    spent = minutes if minutes is not None else 0.0
    ok = minutes is None or spent >= min_minutes
    needed = None if ok else math.ceil(min_minutes - spent)
    detail = (
        f"{spent:.0f} minutes in {mode}, at least {min_minutes:g}"
        if ok
        else f"{spent:.0f} of {min_minutes:g} minutes in {mode}"
    )
    return Verdict(
        rule=SOAK_RULE,
        outcome=Outcome.PASS if ok else Outcome.INCONCLUSIVE,
        n={"minutes": math.floor(spent)},
        estimate=spent,
        ci=None,
        threshold=min_minutes,
        needed=needed,
        detail=detail,
        extra={"unit": "minutes"},
    )


def open_groups_rule(open_groups: int, named: Sequence[str] = ()) -> Verdict:
    """Every divergence group of the domain is triaged: fixed, or ignored with a reason.

    ``named`` are the open groups as ``"operation signature"``: the detail names the first
    few, so the verdict says which group to look at (``dualpath divergences repro SIGNATURE``).
    """
    plural = "s" if open_groups != 1 else ""
    shown = ", ".join(named[:NAMED_GROUPS])
    if len(named) > NAMED_GROUPS:
        shown += f" and {len(named) - NAMED_GROUPS} more"
    return Verdict(
        rule=OPEN_GROUPS_RULE,
        outcome=Outcome.FAIL if open_groups else Outcome.PASS,
        n={"open groups": open_groups},
        estimate=float(open_groups),
        ci=None,
        threshold=0,
        detail=f"{open_groups} open divergence group{plural}" + (f" ({shown})" if shown else ""),
        extra={"groups": [name.rpartition(" ")[2] for name in named]},
    )


#: How many open groups a readiness verdict names.
NAMED_GROUPS = 3


def cells(verdict: Verdict) -> dict[str, str]:
    """A verdict as short texts for a table: rule, outcome, n, estimate, CI, threshold, note.

    Rates read as percentages, the soak in minutes; the CI cell names its confidence.
    """
    unit = next(iter(verdict.n), "")
    rate = unit in ("calls", "comparisons")
    suffix = " min" if verdict.rule == SOAK_RULE else ""

    def show(value: float) -> str:
        return percent_text(value) if rate else _plain(value) + suffix

    operation = verdict.extra.get("operation")
    return {
        "rule": f"{verdict.rule} [{operation}]" if operation else verdict.rule,
        "outcome": verdict.outcome.value,
        "n": ", ".join(f"{value:,} {key}" for key, value in verdict.n.items()),
        "estimate": show(verdict.estimate) if verdict.estimate is not None else "-",
        "ci": (
            f"{verdict.confidence:.0%} [{show(verdict.ci[0])}, {show(verdict.ci[1])}]"
            if verdict.ci is not None
            else "-"
        ),
        "threshold": ("<= " if rate else ">= " if verdict.rule == SOAK_RULE else "= ")
        + show(verdict.threshold),
        "needed": f"{verdict.needed:,} more" if verdict.needed else "",
        "note": verdict.detail,
    }


def _plain(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) or abs(value) >= 10 else f"{value:.1f}"
