"""Verdicts and the small statistics behind them."""

from __future__ import annotations

import math

import pytest

from app.verdicts import (
    Outcome,
    Verdict,
    comparisons_needed,
    wilson_interval,
    wilson_upper,
    z_score,
)

pytestmark = pytest.mark.unit


class TestWilson:
    """The Wilson score interval brackets the observed rate and narrows with n."""

    def test_brackets_the_observed_rate(self) -> None:
        low, high = wilson_interval(10, 100)
        assert low < 0.10 < high
        # Published value for 10/100 at 95%: [0.0552, 0.1744].
        assert low == pytest.approx(0.0552, abs=5e-4)
        assert high == pytest.approx(0.1744, abs=5e-4)

    def test_narrows_with_more_data(self) -> None:
        small = wilson_interval(1, 10)
        large = wilson_interval(100, 1000)
        assert large[1] - large[0] < small[1] - small[0]

    def test_one_sided_upper_is_below_two_sided_upper(self) -> None:
        assert wilson_upper(0, 1000) < wilson_interval(0, 1000)[1]
        assert 0 < wilson_upper(0, 1000) < 0.003

    def test_no_data_says_nothing(self) -> None:
        assert wilson_interval(0, 0) == (0.0, 1.0)
        assert wilson_upper(0, 0) == 1.0

    def test_refuses_impossible_counts(self) -> None:
        with pytest.raises(ValueError, match="within"):
            wilson_interval(5, 3)


class TestRuleOfThree:
    """Zero events in n trials bound the rate below about 3/n at 95%."""

    def test_close_to_three_over_target(self) -> None:
        n = comparisons_needed(0.001)
        assert 2990 <= n <= 3000
        assert 1 - 0.05 ** (1 / n) <= 0.001

    def test_refuses_a_rate_outside_zero_one(self) -> None:
        with pytest.raises(ValueError):
            comparisons_needed(0.0)

    def test_z_scores(self) -> None:
        assert z_score(0.95, two_sided=True) == pytest.approx(1.96, abs=1e-3)
        assert z_score(0.95, two_sided=False) == pytest.approx(1.645, abs=1e-3)


class TestVerdict:
    """A verdict names its rule, n, estimate with interval, and threshold."""

    def test_explanation_carries_the_evidence(self) -> None:
        verdict = Verdict(
            rule="divergence_rate_wilson",
            outcome=Outcome.FAIL,
            n={"comparisons": 2000},
            estimate=0.02,
            ci=(0.015, 0.026),
            threshold=0.01,
        )
        text = verdict.explain()
        for piece in ("divergence_rate_wilson", "fail", "2,000", "0.02", "0.015", "0.01"):
            assert piece in text
        data = verdict.as_dict()
        assert data["outcome"] == "fail" and data["n"] == {"comparisons": 2000}
        assert verdict.failed

    def test_inconclusive_says_what_it_needs(self) -> None:
        verdict = Verdict(
            rule="latency_tail",
            outcome=Outcome.INCONCLUSIVE,
            n={"pairs": 120},
            estimate=None,
            ci=None,
            threshold=300,
            needed=180,
        )
        assert "needs 180 more" in verdict.explain()
        assert not verdict.failed
        assert not math.isnan(verdict.threshold)
