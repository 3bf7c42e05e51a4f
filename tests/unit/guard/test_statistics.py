"""The guard's statistics against SciPy, brute force and published values."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats

from app.statistics import (
    binomial_sf,
    hodges_lehmann,
    mcnemar_p,
    normal_quantile,
    signed_rank,
    walsh_rank_bounds,
    wilson_bounds,
    wilson_lower,
)

pytestmark = pytest.mark.unit


def sample(n: int, seed: int, shift: float = 0.3) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(shift, 0.5) for _ in range(n)]


class TestSignedRank:
    """Wilcoxon's signed-rank test matches SciPy's normal approximation, ties included."""

    @pytest.mark.parametrize(("n", "seed", "centre"), [(40, 1, 0.1), (200, 2, 0.3), (25, 3, 0)])
    def test_matches_scipy(self, n: int, seed: int, centre: float) -> None:
        x = sample(n, seed)
        ours = signed_rank(x, centre)
        theirs = stats.wilcoxon(
            np.array(x) - centre, alternative="greater", method="approx", correction=False
        )
        assert ours.w_plus == pytest.approx(float(theirs.statistic))
        assert ours.p_greater == pytest.approx(float(theirs.pvalue), rel=1e-9)

    def test_ties_and_zeros(self) -> None:
        x = [1.0, 1.0, 2.0, -1.0, 0.0, 3.0, 3.0, 3.0, -2.0, 1.0]
        ours = signed_rank(x)
        theirs = stats.wilcoxon(x, alternative="greater", method="approx", correction=False)
        assert ours.n == 9 and ours.p_greater == pytest.approx(float(theirs.pvalue), rel=1e-9)

    def test_published_example(self) -> None:
        # Hollander & Wolfe (1999), Example 3.1 (Hamilton depression scale, n = 9): T+ = 5.
        before = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
        after = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
        ours = signed_rank([a - b for a, b in zip(after, before, strict=True)])
        assert ours.w_plus == 5.0


class TestHodgesLehmann:
    """The median of the Walsh averages and the interval inverting the signed-rank test."""

    @pytest.mark.parametrize(
        ("n", "seed", "tail"), [(12, 4, 0.025), (60, 5, 0.025), (150, 6, 1e-7)]
    )
    def test_matches_brute_force(self, n: int, seed: int, tail: float) -> None:
        x = sample(n, seed)
        walsh = sorted((x[i] + x[j]) / 2 for i in range(n) for j in range(i, n))
        ours = hodges_lehmann(x, tail)
        assert ours.estimate == pytest.approx(float(np.median(walsh)), abs=1e-12)
        k = walsh_rank_bounds(n, tail)
        assert ours.lower == pytest.approx(walsh[k - 1], abs=1e-12)
        assert ours.upper == pytest.approx(walsh[-k], abs=1e-12)

    def test_published_example(self) -> None:
        # Hollander & Wolfe (1999), Example 3.3: the same data; the estimate is -0.46.
        before = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
        after = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
        ours = hodges_lehmann([a - b for a, b in zip(after, before, strict=True)], 0.025)
        assert ours.estimate == pytest.approx(-0.46, abs=0.005)

    def test_interval_rank_and_inversion(self) -> None:
        # n = 20 at 95% two-sided: the 53rd Walsh average (tables give 52 exactly; the normal
        # approximation is within one rank).
        assert walsh_rank_bounds(20, 0.025) in (52, 53)
        assert walsh_rank_bounds(5, 1e-7) < 1  # too few to bound at all
        x = sample(80, 7, shift=0.5)
        hl = hodges_lehmann(x, 0.01)
        assert hl.lower is not None
        # Just below the lower bound the test rejects; at the bound it does not.
        assert signed_rank(x, hl.lower - 1e-9).p_greater <= 0.0115
        assert signed_rank(x, hl.lower + 1e-6).p_greater > 0.0085


class TestBinomialAndRates:
    """Exact binomial tails, McNemar, Wilson bounds."""

    @pytest.mark.parametrize(("k", "n", "p"), [(7, 20, 0.3), (0, 5, 0.5), (30, 300, 0.01),
                                               (300, 300, 0.99), (101, 100, 0.5)])  # fmt: skip
    def test_binomial_matches_scipy(self, k: int, n: int, p: float) -> None:
        assert binomial_sf(k, n, p) == pytest.approx(float(stats.binom.sf(k - 1, n, p)), rel=1e-9)

    def test_mcnemar_exact(self) -> None:
        assert mcnemar_p(10, 2) == pytest.approx(
            stats.binomtest(10, 12, 0.5, alternative="greater").pvalue, rel=1e-12
        )
        assert mcnemar_p(24, 0) == pytest.approx(0.5**24, rel=1e-12)
        assert mcnemar_p(0, 0) == 1.0

    def test_wilson_published_values(self) -> None:
        # Newcombe (1998), Table I: 81 of 263 → 95% (0.2553, 0.3662).
        low, high = wilson_bounds(81, 263, 0.025)
        assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
        # 0 of 10 → (0, 0.2775).
        assert round(wilson_bounds(0, 10, 0.025)[1], 4) == 0.2775
        assert wilson_lower(0, 0, 0.05) == 0.0

    def test_normal_quantile(self) -> None:
        assert normal_quantile(0.025) == pytest.approx(1.959964, abs=1e-6)
        assert normal_quantile(1e-7 / 8) == pytest.approx(-stats.norm.ppf(1.25e-8), rel=1e-9)
        with pytest.raises(ValueError):
            normal_quantile(0)
        assert math.isfinite(normal_quantile(1e-12))
