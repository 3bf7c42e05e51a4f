"""Readiness verdicts from flags, rollup rows and open groups (docs/rollout.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.readiness import ReadinessRules, assess
from app.readiness_rules import bound_rate, rate_bounds, samples_needed
from app.verdicts import Outcome
from flags.model import FlagState
from flags.overrides import Override

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
#: A loose target, so a few hundred comparisons suffice: ln(0.05) / ln(0.98) = 148.3 -> 149.
RULES = ReadinessRules(min_minutes=30, target_rate=0.02)
#: The defaults: below 0.1% per operation at 95%, 2,995 comparisons each with none diverging.
DEFAULT = ReadinessRules(min_minutes=30)


def row(
    domain: str, minutes_ago: int, comparisons: int, operation: str = "read", **extra: Any
) -> dict[str, Any]:
    minute = (NOW - timedelta(minutes=minutes_ago)).replace(second=0)
    errors = extra.pop("errors", {"legacy": 0, "async": 0})
    timeouts = extra.pop("timeouts", 0)
    skipped = extra.pop("skipped", {})
    calls = extra.pop("calls", comparisons + timeouts)
    return {
        "domain": domain, "operation": operation, "minute": minute,
        "calls": calls, "comparisons": comparisons,
        "divergences": extra.pop("divergences", 0), "timeouts": timeouts,
        "errors": errors, "served": calls + sum(skipped.values()), "skipped": skipped,
        "health": {"timeout": timeouts} if timeouts else {},
    }  # fmt: skip


def flag(domain: str, mode: str, minutes_ago: int) -> FlagState:
    return FlagState(domain, mode, updated_at=NOW - timedelta(minutes=minutes_ago))  # type: ignore[arg-type]


def one(state: FlagState, rows: list[Any], groups: list[Any] = (), **kw: Any) -> Any:  # type: ignore[assignment]
    rules = kw.get("rules", RULES)
    (found,) = assess([state], rows, groups, kw.get("overrides", {}), NOW, rules)
    return found


def wilson(events: int, n: int, z: float) -> tuple[float, float]:
    """The Wilson score bounds, written out here from the textbook formula."""
    p = events / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return ((centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n))


Z95 = 1.6448536269514722  # one-sided 95%
#: Targets, confidences and the comparisons each needs per operation with no divergence.
TARGETS = [
    (0.001, 0.95, 2995), (0.01, 0.95, 299), (0.001, 0.99, 4603), (0.0001, 0.95, 29956),
    (0.001, 0.995, 5296),
]  # fmt: skip


class TestVerdicts:
    """Each rule blocks on its own; all of them together make a domain ready."""

    def test_legacy_is_always_ready_for_shadow(self) -> None:
        found = one(flag("player", "legacy", 1), [], [{"domain": "player"}])
        assert (found.ready, found.verdict, found.next_mode) == (True, "ready for shadow", "shadow")

    def test_clean_shadow_is_ready_for_live(self) -> None:
        found = one(flag("player", "shadow", 60), [row("player", 10, 150)])
        assert (found.ready, found.verdict) == (True, "ready for live")
        assert (found.comparisons, found.open_groups) == (150, 0)
        assert found.minutes_in_mode == 60
        assert found.outcome is Outcome.PASS

    def test_open_groups_block(self) -> None:
        groups = [{"domain": "player"}, {"domain": "player"}, {"domain": "room"}]
        found = one(flag("player", "shadow", 60), [row("player", 10, 150)], groups)
        assert found.verdict == "blocked: 2 open divergence groups"
        assert found.outcome is Outcome.FAIL

    def test_open_groups_are_named(self) -> None:
        groups = [
            {"domain": "room", "operation": "get_room_by_id", "signature": f"{n:032x}"}
            for n in range(5)
        ]
        found = one(flag("room", "shadow", 60), [row("room", 10, 150)], groups[:1])
        assert found.verdict == f"blocked: 1 open divergence group (get_room_by_id {0:032x})"
        found = one(flag("room", "shadow", 60), [row("room", 10, 150)], groups)
        named = ", ".join(f"get_room_by_id {n:032x}" for n in range(3))
        assert found.verdict == f"blocked: 5 open divergence groups ({named} and 2 more)"
        [rule] = [v for v in found.evidence if v.rule == "open_divergence_groups"]
        assert rule.extra["groups"] == [f"{n:032x}" for n in range(5)]

    def test_too_soon_and_too_few(self) -> None:
        # Replaces the count rule (40 of min_comparisons 100): the count is now what bounds
        # the operation's divergence rate below the target, 149 for 2% at 95%.
        assert math.ceil(math.log(0.05) / math.log(1 - 0.02)) == 149
        found = one(flag("player", "live", 12), [row("player", 5, 40)])
        assert found.blockers == (
            "12 of 30 minutes in live", "async error rate: 40 of 59 calls",
            "read: 40 of 149 comparisons",
        )  # fmt: skip
        assert found.verdict == (
            "inconclusive: 12 of 30 minutes in live; async error rate: 40 of 59 calls; "
            "needs 109 more comparisons (read: 40 of 149 comparisons)"
        )
        assert (found.ready, found.outcome, found.needed_comparisons) == (
            False, Outcome.INCONCLUSIVE, 109,
        )  # fmt: skip

    def test_rows_from_before_the_change_do_not_count(self) -> None:
        found = one(flag("player", "shadow", 40), [row("player", 50, 500), row("player", 5, 50)])
        assert found.comparisons == 50 and not found.ready

    def test_error_and_divergence_rates(self) -> None:
        # The divergence rate is now bounded per operation against the readiness target
        # (0.1%), no longer compared as a point rate with the guard's 1%.
        rows = [row("room", 5, 200, divergences=5, errors={"legacy": 0, "async": 20})]
        found = one(flag("room", "live", 60), rows, rules=DEFAULT)
        assert "async error rate 10.0% > 5.0%" in found.verdict
        low = wilson(20, 200, Z95)[0]
        assert f"(20 in 200 calls, 95% lower bound {low:.1%})" in found.verdict
        assert "read: divergence rate 2.5% > 0.1%" in found.verdict
        assert found.verdict.startswith("blocked: ")

    def test_async_is_the_last_step(self) -> None:
        found = one(flag("item", "async", 5), [])
        assert (found.ready, found.verdict, found.next_mode) == (True, "complete: async only", None)

    def test_an_override_counts_from_the_rollback(self) -> None:
        rolled_back = Override(
            "player", "shadow", "guard: errors", "guard", created_at=NOW - timedelta(minutes=3)
        )
        found = one(
            flag("player", "live", 120),
            [row("player", 60, 5000), row("player", 1, 10)],
            overrides={"player": rolled_back},
        )
        assert (found.mode, found.comparisons, found.overridden_by) == ("shadow", 10, "guard")
        assert "3 of 30 minutes in shadow" in found.verdict


class TestEveryOperation:
    """Ready for live needs enough comparisons for every operation that ran in the soak."""

    def test_inconclusive_names_each_operation_lacking_evidence(self) -> None:
        rows = [
            row("player", 20, 300, "damage_player"),
            row("player", 10, 112, "damage_player"),
            row("player", 10, 3100, "get_player_by_id"),
            row("player", 5, 40, "move_player"),
        ]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        assert found.outcome is Outcome.INCONCLUSIVE and not found.ready
        assert found.blockers == (
            "damage_player: 412 of 2,995 comparisons",
            "move_player: 40 of 2,995 comparisons",
        )
        more = (2995 - 412) + (2995 - 40)
        assert found.verdict == (
            f"inconclusive: needs {more:,} more comparisons (damage_player: 412 of 2,995 "
            "comparisons; move_player: 40 of 2,995 comparisons)"
        )
        assert "get_player_by_id" not in found.verdict

    def test_ready_once_every_operation_has_enough(self) -> None:
        rows = [
            row("player", 20, 2995, "damage_player"),
            row("player", 10, 3100, "get_player_by_id"),
            row("player", 5, 2995, "move_player"),
        ]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        assert (found.ready, found.verdict, found.needed_comparisons) == (True, "ready for live", 0)
        rates = [v for v in found.evidence if v.rule == "divergence_rate"]
        assert [v.extra["operation"] for v in rates] == [
            "damage_player", "get_player_by_id", "move_player",
        ]  # fmt: skip
        assert all(v.outcome is Outcome.PASS and v.ci[1] <= 0.001 for v in rates)

    def test_one_short_is_not_enough(self) -> None:
        rows = [row("player", 20, 2994, "damage_player")]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        assert found.verdict == (
            "inconclusive: needs 1 more comparisons (damage_player: 2,994 of 2,995 comparisons)"
        )

    def test_a_divergence_needs_more_evidence_with_its_wilson_bound(self) -> None:
        rows = [row("player", 20, 3000, "damage_player", divergences=1)]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        upper = wilson(1, 3000, Z95)[1]
        assert 0.001 < upper < 0.002
        (rate,) = [v for v in found.evidence if v.rule == "divergence_rate"]
        assert rate.outcome is Outcome.INCONCLUSIVE
        assert rate.ci is not None and rate.ci[1] == pytest.approx(upper, rel=1e-9)
        assert rate.estimate == pytest.approx(1 / 3000)
        total = rate.extra["needed_total"]
        assert wilson(1, total, Z95)[1] <= 0.001 < wilson(1, total - 1, Z95)[1]
        assert (
            f"damage_player: 1 divergence in 3,000 of {total:,} comparisons "
            f"(95% upper bound {100 * upper:.2f}% > 0.1%)" in found.verdict
        )

    def test_blocked_by_a_divergence_rate_above_the_target(self) -> None:
        rows = [
            row("player", 20, 3000, "damage_player", divergences=12),
            row("player", 20, 3000, "get_player_by_id"),
        ]
        found = one(flag("player", "live", 45), rows, rules=DEFAULT)
        low = wilson(12, 3000, Z95)[0]
        assert low > 0.001
        assert found.outcome is Outcome.FAIL and not found.ready
        assert found.verdict == (
            "blocked: damage_player: divergence rate 0.4% > 0.1% "
            f"(12 in 3,000 comparisons, 95% lower bound {100 * low:.2f}%)"
        )

    def test_an_operation_without_traffic_is_not_demanded(self) -> None:
        rows = [
            row("player", 20, 2995, "get_player_by_id"),
            row("player", 20, 0, "delete_player", calls=0),
        ]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        assert (found.ready, found.verdict) == (True, "ready for live")
        assert [o.operation for o in found.operations] == ["get_player_by_id"]

    def test_an_operation_of_only_timeouts_is_demanded(self) -> None:
        rows = [
            row("player", 20, 2995, "get_player_by_id"),
            row("player", 20, 0, "save_player", timeouts=7),
        ]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        assert found.blockers == ("save_player: 0 of 2,995 comparisons",)
        (save,) = [o for o in found.operations if o.operation == "save_player"]
        assert (save.calls, save.comparisons, save.divergences, save.timeouts) == (7, 0, 0, 7)

    def test_timeouts_are_neither_comparisons_nor_divergences(self) -> None:
        rows = [row("player", 20, 3000, "get_player_by_id", timeouts=40)]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        assert (found.comparisons, found.divergences, found.ready) == (3000, 0, True)

    def test_skipped_calls_are_coverage_not_evidence(self) -> None:
        skipped = {"saturated": 2000, "raced": 5}
        rows = [row("player", 20, 1000, "get_player_by_id", skipped=skipped)]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        (read,) = found.operations
        assert (read.served, read.comparisons, read.skipped) == (3005, 1000, skipped)
        assert read.coverage == pytest.approx(1000 / 3005)
        assert found.served == 3005 and found.coverage == pytest.approx(1000 / 3005)
        assert found.outcome is Outcome.INCONCLUSIVE
        assert found.blockers == ("get_player_by_id: 1,000 of 2,995 comparisons",)

    def test_no_traffic_at_all_is_inconclusive_not_ready(self) -> None:
        found = one(flag("player", "shadow", 45), [], rules=DEFAULT)
        assert found.outcome is Outcome.INCONCLUSIVE and not found.ready
        assert "no operation compared yet: 2,995 comparisons each" in found.verdict
        assert "async error rate: 0 of 59 calls" in found.verdict

    @pytest.mark.parametrize(("target", "confidence", "needed"), TARGETS)
    def test_the_target_sets_the_comparisons_needed(
        self, target: float, confidence: float, needed: int
    ) -> None:
        assert needed == math.ceil(math.log(1 - confidence) / math.log(1 - target))
        rules = ReadinessRules(min_minutes=30, target_rate=target, confidence=confidence)
        rows = [row("player", 20, 250, "damage_player")]
        found = one(flag("player", "shadow", 45), rows, rules=rules)
        assert f"damage_player: 250 of {needed:,} comparisons" in found.verdict
        assert found.needed_comparisons == needed - 250
        assert rules.comparisons_needed == needed

    def test_each_domain_counts_its_own_operations(self) -> None:
        rows = [row("player", 20, 2995, "get"), row("room", 20, 10, "get")]
        found = assess(
            [flag("player", "shadow", 45), flag("room", "shadow", 45)], rows, [], {}, NOW, DEFAULT
        )
        assert [f.ready for f in found] == [True, False]


class TestEvidence:
    """Every rule of a verdict names itself, its n, estimate with interval and threshold."""

    def test_every_rule_carries_its_figures(self) -> None:
        rows = [row("room", 20, 500, "get_room", errors={"legacy": 1, "async": 2})]
        found = one(flag("room", "shadow", 25), rows, rules=DEFAULT)
        by_rule = {v.rule: v for v in found.evidence}
        assert list(by_rule) == [
            "soak_time", "open_divergence_groups", "async_error_rate", "divergence_rate",
        ]  # fmt: skip
        soak = by_rule["soak_time"]
        assert (soak.outcome, soak.n, soak.threshold, soak.needed) == (
            Outcome.INCONCLUSIVE, {"minutes": 25}, 30, 5,
        )  # fmt: skip
        errors = by_rule["async_error_rate"]
        assert (errors.n, errors.estimate, errors.threshold) == ({"calls": 500}, 2 / 500, 0.05)
        assert errors.ci == pytest.approx(wilson(2, 500, Z95))
        assert errors.outcome is Outcome.PASS and errors.confidence == pytest.approx(0.9)
        rate = by_rule["divergence_rate"]
        assert (rate.n, rate.estimate, rate.threshold, rate.needed) == (
            {"comparisons": 500}, 0.0, 0.001, 2495,
        )  # fmt: skip

    def test_as_dict_is_plain_data(self) -> None:
        found = one(flag("room", "shadow", 40), [row("room", 20, 100, "get_room")], rules=DEFAULT)
        data = found.as_dict()
        assert data["outcome"] == "inconclusive"
        assert data["needed_comparisons"] == 2895
        assert (data["target_rate"], data["confidence"]) == (0.001, 0.95)
        rate = data["evidence"][-1]
        assert rate["rule"] == "divergence_rate" and rate["outcome"] == "inconclusive"
        assert rate["n"] == {"comparisons": 100} and rate["needed"] == 2895
        assert "get_room: 100 of 2,995 comparisons" in rate["explanation"]
        assert data["operations"] == [
            {"operation": "get_room", "calls": 100, "comparisons": 100, "divergences": 0,
             "timeouts": 0, "served": 100, "skipped": {}, "health": {}, "coverage": 1.0},
        ]  # fmt: skip
        assert data["coverage"] == 1.0


class TestRateBounds:
    """The bounds behind every rate rule: exact with no event, Wilson with some."""

    def test_no_event_is_the_exact_zero_event_bound(self) -> None:
        assert rate_bounds(0, 2995, 0.95) == (0.0, pytest.approx(1 - 0.05 ** (1 / 2995)))
        assert rate_bounds(0, 2995, 0.95)[1] <= 0.001 < rate_bounds(0, 2994, 0.95)[1]

    def test_events_give_one_sided_wilson_bounds(self) -> None:
        assert rate_bounds(7, 1000, 0.95) == pytest.approx(wilson(7, 1000, Z95))

    def test_no_data_bounds_nothing(self) -> None:
        assert rate_bounds(0, 0, 0.95) == (0.0, 1.0)

    @pytest.mark.parametrize("events", [0, 1, 2, 5, 30])
    def test_samples_needed_is_the_first_n_that_passes(self, events: int) -> None:
        n = samples_needed(events, 0.001, 0.95)
        assert rate_bounds(events, n, 0.95)[1] <= 0.001 < rate_bounds(events, n - 1, 0.95)[1]

    def test_a_rate_between_the_bounds_is_inconclusive(self) -> None:
        verdict = bound_rate("r", 3, 1000, 0.004, 0.95, unit="comparisons")
        assert verdict.ci is not None and verdict.ci[0] < 0.004 < verdict.ci[1]
        assert verdict.outcome is Outcome.INCONCLUSIVE and verdict.needed

    def test_rules_refuse_a_target_or_confidence_out_of_range(self) -> None:
        for bad in ({"target_rate": 0.0}, {"target_rate": 1.0}, {"confidence": 0.5}):
            with pytest.raises(ValueError, match="must be within"):
                ReadinessRules(**bad)  # type: ignore[arg-type]


class TestTheDocumentedExample:
    """The worked example of docs/rollout.md is what the rules say."""

    def test_example_verdict(self) -> None:
        from pathlib import Path

        text = (Path(__file__).resolve().parents[3] / "docs" / "rollout.md").read_text()
        example = text.split("### An example")[1]
        documented = " ".join(example.split("```")[1].split())
        rows = [
            row("player", 10, 3100, "get_player_by_id"),
            row("player", 10, 412, "damage_player"),
            row("player", 10, 3000, "save_player", divergences=1),
        ]
        found = one(flag("player", "shadow", 45), rows, rules=DEFAULT)
        assert found.verdict == documented
