"""The noise verdict of a field path: A/B against A/A, Fisher's test and Diffy's floor."""

from __future__ import annotations

import pytest
from scipy.stats import fisher_exact

from shadow.noise import NoiseRule, fisher_greater, noise_verdict, wilson_interval

pytestmark = pytest.mark.unit


class TestFisher:
    """The one-sided p is SciPy's, and 1 when A/B is not above A/A."""

    @pytest.mark.parametrize(
        "counts",
        [(30, 60, 28, 60), (60, 60, 0, 60), (5, 100, 1, 1000), (400, 20000, 2, 200),
         (12, 50, 3, 40)],
    )  # fmt: skip
    def test_matches_scipy(self, counts: tuple[int, int, int, int]) -> None:
        ab_k, ab_n, aa_k, aa_n = counts
        table = [[ab_k, ab_n - ab_k], [aa_k, aa_n - aa_k]]
        expected = fisher_exact(table, alternative="greater").pvalue
        assert fisher_greater(*counts) == pytest.approx(expected, rel=1e-6, abs=1e-12)

    def test_not_above_is_one(self) -> None:
        assert fisher_greater(10, 100, 20, 100) == 1.0
        assert fisher_greater(0, 0, 1, 10) == 1.0


class TestVerdict:
    """Noise needs A/A to differ too; real needs significance and the floor; else inconclusive."""

    def test_same_rate_on_both_is_noise_with_evidence(self) -> None:
        v = noise_verdict("player", "get_player_by_id", "root['x']", (31, 60, 29, 60))
        assert v.status == "noise"
        assert (v.ab_diffs, v.ab_calls, v.aa_diffs, v.aa_calls) == (31, 60, 29, 60)
        assert v.ab_ci[0] < v.ab_rate < v.ab_ci[1]
        assert "Fisher" in v.rule and v.p_value > 0.001

    def test_a_difference_only_between_paths_is_real(self) -> None:
        v = noise_verdict("player", "get_player_by_name", "root['level']", (60, 60, 0, 60))
        assert v.status == "real"
        assert v.p_value < 1e-10

    def test_never_seen_in_a_a_is_never_noise(self) -> None:
        v = noise_verdict("health", "damage_player", "root", (1, 200, 0, 40))
        assert v.status == "inconclusive"
        assert "A/A differed 0 times" in v.why

    def test_too_few_calls_is_inconclusive_and_says_what_is_missing(self) -> None:
        v = noise_verdict("health", "damage_player", "root", (5, 10, 5, 10))
        assert v.status == "inconclusive"
        assert v.why == "needs 20 more A/A calls and 20 more A/B calls"

    def test_significant_but_under_the_relative_floor_is_not_real(self) -> None:
        # 11% against 10% on a million calls: significant, but only 10% above A/A.
        rule = NoiseRule()
        v = noise_verdict("d", "o", "p", (110_000, 1_000_000, 100_000, 1_000_000), rule)
        assert v.p_value < rule.alpha
        assert v.status == "noise"

    def test_significant_but_under_the_absolute_floor_is_not_real(self) -> None:
        # 0.02% against 0.001%: far above in relative terms, but by less than 0.03% of calls.
        v = noise_verdict("d", "o", "p", (400, 2_000_000, 10, 1_000_000))
        assert v.p_value < 0.001
        assert v.status == "noise"


def test_wilson_interval_holds_the_estimate() -> None:
    low, high = wilson_interval(30, 60, 0.025)
    assert 0.37 < low < 0.5 < high < 0.63
    assert wilson_interval(0, 0, 0.025) == (0.0, 1.0)
