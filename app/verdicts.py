"""Verdicts that carry their evidence: the rule, n, the estimate with its interval, the threshold.

Every automatic decision (a guard rollback, a readiness verdict) is a :class:`Verdict`. A rule
returns one of three outcomes: ``pass``, ``fail``, or ``inconclusive`` when it lacks the data to
say either, so no rule ever passes or fails silently. The statistics here are the small,
dependency-free ones both the guard and readiness use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from statistics import NormalDist
from typing import Any

__all__ = [
    "Outcome",
    "Verdict",
    "comparisons_needed",
    "wilson_interval",
    "wilson_upper",
    "z_score",
]


class Outcome(StrEnum):
    """What a rule concluded."""

    PASS = "pass"
    INCONCLUSIVE = "inconclusive"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's conclusion and the evidence behind it.

    ``n`` counts the samples per path (or under one key such as ``comparisons``); ``ci`` is the
    interval around ``estimate`` at ``confidence``; ``needed`` is how many more samples an
    inconclusive rule waits for, when that is known.
    """

    rule: str
    outcome: Outcome
    n: dict[str, int]
    estimate: float | None
    ci: tuple[float, float] | None
    threshold: float
    confidence: float = 0.95
    needed: int | None = None
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when the rule found a breach."""
        return self.outcome is Outcome.FAIL

    def explain(self) -> str:
        """One line for a log, an audit entry or a banner."""
        counts = ", ".join(f"{key} {value:,}" for key, value in self.n.items())
        parts = [f"{self.rule}: {self.outcome.value}", f"n {counts}"]
        if self.estimate is not None:
            parts.append(f"estimate {_number(self.estimate)}")
        if self.ci is not None:
            level = f"{self.confidence:.0%}"
            parts.append(f"{level} CI [{_number(self.ci[0])}, {_number(self.ci[1])}]")
        parts.append(f"threshold {_number(self.threshold)}")
        if self.needed:
            parts.append(f"needs {self.needed:,} more")
        if self.detail:
            parts.append(self.detail)
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data (audit ``extra.figures``, the API)."""
        return {
            "rule": self.rule,
            "outcome": self.outcome.value,
            "n": dict(self.n),
            "estimate": self.estimate,
            "ci": list(self.ci) if self.ci is not None else None,
            "confidence": self.confidence,
            "threshold": self.threshold,
            "needed": self.needed,
            "detail": self.detail,
            "explanation": self.explain(),
            **({"extra": self.extra} if self.extra else {}),
        }


def _number(value: float) -> str:
    return f"{value:.4g}"


def z_score(confidence: float, *, two_sided: bool) -> float:
    """The standard normal quantile for ``confidence``, one- or two-sided."""
    tail = (1 - confidence) / 2 if two_sided else 1 - confidence
    return NormalDist().inv_cdf(1 - tail)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (two-sided); ``(0, 1)`` for n = 0."""
    if n <= 0:
        return (0.0, 1.0)
    return _wilson(successes, n, z_score(confidence, two_sided=True))


def wilson_upper(successes: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Wilson upper bound on a binomial proportion; 1 for n = 0."""
    if n <= 0:
        return 1.0
    return _wilson(successes, n, z_score(confidence, two_sided=False))[1]


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within [0, n], got {successes} of {n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def comparisons_needed(target_rate: float, confidence: float = 0.95) -> int:
    """Comparisons without a divergence that bound the rate below ``target_rate``.

    The exact form of the rule of three: with zero events in n trials, the one-sided upper
    bound is ``1 - (1 - confidence) ** (1 / n)``, so n = ln(1 - confidence) / ln(1 - target).
    At 95% this is about 3 / target.
    """
    if not 0 < target_rate < 1:
        raise ValueError(f"target_rate must be within (0, 1), got {target_rate}")
    return math.ceil(math.log(1 - confidence) / math.log1p(-target_rate))
