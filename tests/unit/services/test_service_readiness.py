"""Readiness per service: the rule of three, the Wilson bounds, and open groups."""

from __future__ import annotations

import pytest

from app.service_readiness import assess_service, divergence_rate_verdict
from app.verdicts import Outcome, comparisons_needed

pytestmark = pytest.mark.unit

THRESHOLD = 0.01


class TestDivergenceRate:
    """Inconclusive until enough comparisons; pass or fail with the evidence stated."""

    def test_no_comparisons(self) -> None:
        v = divergence_rate_verdict(0, 0, THRESHOLD, "legacy")
        assert v.outcome is Outcome.INCONCLUSIVE and v.needed == comparisons_needed(THRESHOLD)
        assert "step to shadow" in v.detail and v.estimate is None

    def test_rule_of_three(self) -> None:
        needed = comparisons_needed(THRESHOLD)
        short = divergence_rate_verdict(needed - 10, 0, THRESHOLD)
        assert (short.outcome, short.needed) == (Outcome.INCONCLUSIVE, 10)
        enough = divergence_rate_verdict(needed, 0, THRESHOLD)
        assert enough.outcome is Outcome.PASS and enough.n == {
            "comparisons": needed, "divergences": 0,
        }  # fmt: skip
        assert enough.ci is not None and enough.ci[0] == 0.0

    def test_a_rate_clearly_above_fails(self) -> None:
        v = divergence_rate_verdict(1000, 100, THRESHOLD)
        assert v.outcome is Outcome.FAIL and v.ci is not None and v.ci[0] > THRESHOLD
        assert v.estimate == pytest.approx(0.1)

    def test_a_low_rate_with_enough_data_passes(self) -> None:
        v = divergence_rate_verdict(100_000, 2, THRESHOLD)
        assert v.outcome is Outcome.PASS

    def test_a_low_rate_without_enough_data_says_how_many_more(self) -> None:
        v = divergence_rate_verdict(300, 1, THRESHOLD)
        assert v.outcome is Outcome.INCONCLUSIVE and v.needed is not None and v.needed > 0
        after = divergence_rate_verdict(300 + v.needed, round((300 + v.needed) / 300), THRESHOLD)
        assert after.outcome is Outcome.PASS

    def test_a_rate_at_the_threshold_cannot_pass(self) -> None:
        v = divergence_rate_verdict(200, 2, THRESHOLD)
        assert v.outcome is Outcome.INCONCLUSIVE and v.needed is None


class TestAssess:
    """The worst verdict wins; an open group fails the service."""

    def test_open_group_fails(self) -> None:
        found = assess_service(
            "combat_service", "health", "shadow",
            comparisons=5000, divergences=0, open_groups=1, threshold=THRESHOLD,
        )  # fmt: skip
        assert found.outcome is Outcome.FAIL and found.next_mode == "live"
        assert "service_open_divergences: fail" in found.explain()

    def test_pass(self) -> None:
        found = assess_service(
            "combat_service", "health", "live",
            comparisons=5000, divergences=0, open_groups=0, threshold=THRESHOLD,
        )  # fmt: skip
        assert found.outcome is Outcome.PASS and found.next_mode == "async"
        data = found.as_dict()
        assert data["verdicts"][1]["n"]["comparisons"] == 5000

    def test_inconclusive(self) -> None:
        found = assess_service(
            "user_manager", "player", "shadow",
            comparisons=10, divergences=0, open_groups=0, threshold=THRESHOLD,
        )  # fmt: skip
        assert found.outcome is Outcome.INCONCLUSIVE
