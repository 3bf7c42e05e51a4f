"""The guard's statistics, in pure Python: signed ranks, Hodges-Lehmann, exact binomial tails.

* :func:`signed_rank` — Wilcoxon's signed-rank test of "the median of ``x`` is ``centre``"
  (normal approximation, zero differences dropped, mid-ranks for ties with the variance
  correction: what ``scipy.stats.wilcoxon(..., method="approx", correction=False)`` computes);
* :func:`hodges_lehmann` — the Hodges-Lehmann estimate of the centre of a symmetric
  distribution (the median of the Walsh averages) and the confidence interval that inverts the
  signed-rank test (Lehmann, *Nonparametrics*, 1975, §4.3; Hollander & Wolfe);
* :func:`binomial_sf` — the exact upper tail ``P(X >= k)`` of a binomial, for McNemar's exact
  test (:func:`mcnemar_p`) and the tail exceedance test;
* :func:`wilson_lower` — the one-sided Wilson lower bound on a proportion.

Every function takes plain sequences and is deterministic; ``tests/unit/guard`` pins them to
published values and to SciPy.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

__all__ = [
    "HodgesLehmann",
    "SignedRank",
    "binomial_sf",
    "hodges_lehmann",
    "mcnemar_p",
    "normal_quantile",
    "signed_rank",
    "walsh_rank_bounds",
    "wilson_bounds",
    "wilson_lower",
]

_NORMAL = NormalDist()


def normal_quantile(tail: float) -> float:
    """The z with ``P(Z > z) = tail`` for a standard normal Z."""
    if not 0 < tail < 1:
        raise ValueError(f"tail must be within (0, 1), got {tail}")
    return _NORMAL.inv_cdf(1 - tail)


@dataclass(frozen=True, slots=True)
class SignedRank:
    """Wilcoxon's signed-rank statistic: ``w_plus``, its z and the one-sided p (greater)."""

    n: int
    w_plus: float
    z: float
    p_greater: float


def signed_rank(x: Sequence[float], centre: float = 0.0) -> SignedRank:
    """Test "the median of ``x`` is ``centre``" against "it is greater" (zeros dropped)."""
    diffs = [v - centre for v in x if v != centre]
    n = len(diffs)
    if n == 0:
        return SignedRank(0, 0.0, 0.0, 1.0)
    ranks, tie_term = _ranks([abs(d) for d in diffs])
    w_plus = sum(r for r, d in zip(ranks, diffs, strict=True) if d > 0)
    mean = n * (n + 1) / 4
    var = n * (n + 1) * (2 * n + 1) / 24 - tie_term / 48
    z = (w_plus - mean) / math.sqrt(var) if var > 0 else 0.0
    return SignedRank(n, w_plus, z, 1 - _NORMAL.cdf(z))


def _ranks(values: Sequence[float]) -> tuple[list[float], float]:
    """Mid-ranks of ``values`` (1-based) and the tie correction sum of (t^3 - t)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    tie_term, i = 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        t = j - i + 1
        tie_term += t**3 - t
        i = j + 1
    return ranks, tie_term


@dataclass(frozen=True, slots=True)
class HodgesLehmann:
    """The Hodges-Lehmann estimate with a confidence interval (None where unbounded)."""

    n: int
    estimate: float
    lower: float | None
    upper: float | None


def walsh_rank_bounds(n: int, tail: float) -> int:
    """The rank k (1-based) of the Walsh average that bounds a one-sided ``1 - tail`` interval.

    The lower bound is the k-th smallest of the n(n+1)/2 Walsh averages and the upper bound the
    k-th largest, with k = ceil(n(n+1)/4 - z sqrt(n(n+1)(2n+1)/24)) (normal approximation to
    the signed-rank distribution). Below 1, the interval is unbounded on that side.
    """
    mean = n * (n + 1) / 4
    spread = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return math.ceil(mean - normal_quantile(tail) * spread)


def hodges_lehmann(x: Sequence[float], tail: float) -> HodgesLehmann:
    """The median of the Walsh averages of ``x`` and its one-sided ``1 - tail`` bounds.

    Order statistics of the Walsh averages are found by bisection on their value, counting
    the averages below a value in O(n log n), so no n² list is built.
    """
    xs = sorted(x)
    n = len(xs)
    if n == 0:
        raise ValueError("hodges_lehmann needs at least one value")
    total = n * (n + 1) // 2
    estimate = (_walsh_order(xs, (total + 1) // 2) + _walsh_order(xs, total // 2 + 1)) / 2
    k = walsh_rank_bounds(n, tail)
    if k < 1:
        return HodgesLehmann(n, estimate, None, None)
    return HodgesLehmann(n, estimate, _walsh_order(xs, k), _walsh_order(xs, total - k + 1))


def _walsh_order(xs: Sequence[float], k: int) -> float:
    """The k-th smallest (1-based) Walsh average (xs[i] + xs[j]) / 2, i <= j, of sorted xs.

    Bisection on the value narrows (low, high] until it holds few averages, which are then
    listed and sorted: O(n log n) per step, a few steps.
    """
    low, high = xs[0] - 1.0, xs[-1]
    below = 0  # averages <= low
    while True:
        inside = _walsh_at_most(xs, high) - below
        if inside <= _ENUMERATE or not high - low > 1e-15 * max(1.0, abs(high)):
            break
        mid = (low + high) / 2
        at_mid = _walsh_at_most(xs, mid)
        if at_mid >= k:
            high = mid
        else:
            low, below = mid, at_mid
    listed = sorted(_walsh_between(xs, low, high))
    return listed[min(max(k - below - 1, 0), len(listed) - 1)]


_ENUMERATE = 4096


def _walsh_at_most(xs: Sequence[float], value: float) -> int:
    """How many Walsh averages of sorted ``xs`` are <= ``value``."""
    twice, count = 2 * value, 0
    for i, xi in enumerate(xs):
        j = bisect.bisect_right(xs, twice - xi)
        if j <= i:
            break
        count += j - i
    return count


def _walsh_between(xs: Sequence[float], low: float, high: float) -> list[float]:
    """The Walsh averages in (low, high] of sorted ``xs``, chosen as ``_walsh_at_most`` counts."""
    found: list[float] = []
    for i, xi in enumerate(xs):
        first = max(i, bisect.bisect_right(xs, 2 * low - xi))
        last = bisect.bisect_right(xs, 2 * high - xi)
        if last <= i:
            break
        found.extend((xi + xj) / 2 for xj in xs[first:last])
    return found


def binomial_sf(k: int, n: int, p: float) -> float:
    """Exact ``P(X >= k)`` for ``X ~ Binomial(n, p)``."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [_log_pmf(i, n, log_p, log_q) for i in range(k, n + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


def _log_pmf(i: int, n: int, log_p: float, log_q: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * log_p
        + (n - i) * log_q
    )


def mcnemar_p(b: int, c: int) -> float:
    """McNemar's exact one-sided p: ``b`` (new path alone failed) is larger than ``c``."""
    return binomial_sf(b, b + c, 0.5) if b + c else 1.0


def wilson_bounds(successes: int, n: int, tail: float) -> tuple[float, float]:
    """One-sided Wilson bounds on a proportion, each at ``1 - tail``; ``(0, 1)`` for n = 0."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within [0, n], got {successes} of {n}")
    z = normal_quantile(tail)
    p, z2 = successes / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def wilson_lower(successes: int, n: int, tail: float) -> float:
    """One-sided Wilson lower bound on a proportion at ``1 - tail``; 0 for n = 0."""
    return wilson_bounds(successes, n, tail)[0]
