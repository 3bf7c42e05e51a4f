"""The noise verdict of one field path: does it differ between the paths more than within one?

The A/A calibration runs (``shadow.calibration``) tell how often a field differs when the
primary's own path runs twice; the A/B comparisons how often it differs between the primary
and the other path. A field is **real** when its A/B rate is significantly above its A/A
rate (Fisher's exact test, one-sided, at ``alpha``) and clears Diffy's floor: the A/B count is
above the A/A count scaled to the same number of calls, the A/B rate is more than
``relative`` (20%) above the A/A rate, and the excess is more than ``absolute`` (0.03%) of
calls. It is **noise** when it is not real and the A/A runs saw it differ at least
``min_aa_diffs`` times: the primary's own path disagrees with itself there. Anything else is
**inconclusive**, with what is missing: a field the A/A runs never saw differ is never called
noise, however few A/B calls there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["NoiseRule", "NoiseVerdict", "fisher_greater", "noise_verdict", "wilson_interval"]

Status = Literal["noise", "real", "inconclusive"]


@dataclass(frozen=True, slots=True)
class NoiseRule:
    """The thresholds of the verdict; these defaults are the only place they are stated."""

    alpha: float = 0.001
    relative: float = 0.20
    absolute: float = 0.0003
    min_aa_calls: int = 30
    min_ab_calls: int = 30
    min_aa_diffs: int = 3
    confidence: float = 0.95

    def describe(self) -> str:
        """The rule in one line, as every verdict states it."""
        return (
            f"real if Fisher one-sided p < {self.alpha:g} and A/B count > scaled A/A count,"
            f" A/B rate > A/A rate by > {self.relative:.0%} and by > {self.absolute:.2%}"
            f" of calls; noise if not real and A/A differed >= {self.min_aa_diffs} times"
            f" in >= {self.min_aa_calls} A/A calls"
        )


@dataclass(frozen=True, slots=True)
class NoiseVerdict:
    """One field path's verdict, with its evidence: both counts, both n, the rates and CIs."""

    domain: str
    operation: str
    path: str
    status: Status
    ab_diffs: int
    ab_calls: int
    aa_diffs: int
    aa_calls: int
    ab_rate: float
    aa_rate: float
    ab_ci: tuple[float, float]
    aa_ci: tuple[float, float]
    p_value: float
    rule: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for the group's stored evidence, the API and ``--json``."""
        return {
            "path": self.path,
            "status": self.status,
            "ab": {"diffs": self.ab_diffs, "n": self.ab_calls, "rate": self.ab_rate,
                   "ci": list(self.ab_ci)},
            "aa": {"diffs": self.aa_diffs, "n": self.aa_calls, "rate": self.aa_rate,
                   "ci": list(self.aa_ci)},
            "p_value": self.p_value,
            "rule": self.rule,
            "why": self.why,
        }  # fmt: skip

    def summary(self) -> str:
        """One line: the path, the verdict and both rates with their n."""
        return (
            f"{self.path}: {self.status} (A/B {self.ab_diffs}/{self.ab_calls}"
            f" = {self.ab_rate:.4f}, A/A {self.aa_diffs}/{self.aa_calls}"
            f" = {self.aa_rate:.4f}, p = {self.p_value:.3g}): {self.why}"
        )


def noise_verdict(
    domain: str,
    operation: str,
    path: str,
    counts: tuple[int, int, int, int],
    rule: NoiseRule = NoiseRule(),
) -> NoiseVerdict:
    """The verdict of ``path`` from ``(ab_diffs, ab_calls, aa_diffs, aa_calls)``."""
    ab_k, ab_n, aa_k, aa_n = counts
    ab_rate, aa_rate = _rate(ab_k, ab_n), _rate(aa_k, aa_n)
    p = fisher_greater(ab_k, ab_n, aa_k, aa_n)
    status, why = _decide(ab_k, ab_n, aa_k, aa_n, p, rule)
    tail = (1 - rule.confidence) / 2
    return NoiseVerdict(
        domain, operation, path, status, ab_k, ab_n, aa_k, aa_n, ab_rate, aa_rate,
        wilson_interval(ab_k, ab_n, tail), wilson_interval(aa_k, aa_n, tail), p,
        rule.describe(), why,
    )  # fmt: skip


def _decide(
    ab_k: int, ab_n: int, aa_k: int, aa_n: int, p: float, rule: NoiseRule
) -> tuple[Status, str]:
    if aa_n < rule.min_aa_calls or ab_n < rule.min_ab_calls:
        return "inconclusive", _missing(ab_n, aa_n, rule)
    ab_rate, aa_rate = ab_k / ab_n, aa_k / aa_n
    if p < rule.alpha and _above_floor(ab_k, ab_rate, aa_rate, ab_n, rule):
        return "real", f"A/B differs more than A/A (p = {p:.3g} < {rule.alpha:g})"
    if aa_k >= rule.min_aa_diffs:
        return "noise", f"the primary's path differs from itself here {aa_k} of {aa_n} times"
    return "inconclusive", (
        f"A/A differed {aa_k} times (noise needs {rule.min_aa_diffs}); not significantly"
        f" above A/A yet (p = {p:.3g})"
    )


def _above_floor(ab_k: int, ab_rate: float, aa_rate: float, ab_n: int, rule: NoiseRule) -> bool:
    """Diffy's floor, with the A/A count scaled to the A/B number of calls."""
    excess = ab_rate - aa_rate
    relative = math.inf if aa_rate == 0 else excess / aa_rate
    return ab_k > aa_rate * ab_n and relative > rule.relative and excess > rule.absolute


def _missing(ab_n: int, aa_n: int, rule: NoiseRule) -> str:
    needs = []
    if aa_n < rule.min_aa_calls:
        needs.append(f"{rule.min_aa_calls - aa_n} more A/A calls")
    if ab_n < rule.min_ab_calls:
        needs.append(f"{rule.min_ab_calls - ab_n} more A/B calls")
    return "needs " + " and ".join(needs)


def _rate(k: int, n: int) -> float:
    return k / n if n else 0.0


def fisher_greater(ab_k: int, ab_n: int, aa_k: int, aa_n: int) -> float:
    """Fisher's exact one-sided p that the A/B rate is above the A/A rate (1 when not above).

    The hypergeometric tail is summed from the observed A/B count upward; past the mode its
    terms only shrink, so the sum stops once they no longer change it.
    """
    if ab_n == 0 or aa_n == 0 or ab_k * aa_n <= aa_k * ab_n:
        return 1.0
    total, diffs = ab_n + aa_n, ab_k + aa_k
    top = min(diffs, ab_n)
    base = _log_choose(total, diffs)
    acc = 0.0
    for k in range(ab_k, top + 1):
        term = math.exp(_log_choose(ab_n, k) + _log_choose(aa_n, diffs - k) - base)
        acc += term
        if k > ab_k + 10 and term < acc * 1e-15:
            break
    return min(1.0, acc)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def wilson_interval(k: int, n: int, tail: float) -> tuple[float, float]:
    """Wilson's interval on ``k`` of ``n``, each bound at ``1 - tail``; ``(0, 1)`` for n = 0."""
    if n <= 0:
        return (0.0, 1.0)
    z = _normal_quantile(tail)
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _normal_quantile(tail: float) -> float:
    """The standard normal's upper-``tail`` quantile (bisection on ``erfc``)."""
    low, high = 0.0, 40.0
    for _ in range(100):
        mid = (low + high) / 2
        if 0.5 * math.erfc(mid / math.sqrt(2)) > tail:
            low = mid
        else:
            high = mid
    return (low + high) / 2
