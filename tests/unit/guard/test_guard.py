"""The guard's window, rules, repeated looks and rollbacks, with a fake flag provider and clock."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from app.guard import Guard, Thresholds, is_fault, parse_threshold_overrides, thresholds_from
from app.guard_rules import Call, Judge, judge
from app.guard_window import CallWindow, call_of
from app.operations import MUD
from app.settings import Settings
from app.verdicts import Outcome
from persistence.errors import DatabaseError, NotFoundError, ValidationError
from tests.unit.guard.fakes import FakeFlags, result

pytestmark = pytest.mark.unit

LIMITS = Thresholds()
NOW = 10_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def calls(
    n: int, *, seconds: float = 9.0, ratio: float = 1.0, spread: float = 0.4, seed: int = 1,
    async_fail: float = 0.0, legacy_fail: float = 0.0, diverge: float = 0.0,
    slow_tail: float = 0.0,
) -> list[Call]:  # fmt: skip
    """``n`` paired calls spread over the last ``seconds`` before NOW, lognormal durations."""
    rng = random.Random(seed)
    found = []
    for i in range(n):
        legacy = 0.002 * math.exp(rng.gauss(0, spread))
        new = ratio * 0.002 * math.exp(rng.gauss(0, spread))
        if rng.random() < slow_tail:
            new *= 20
        a_fault, l_fault = rng.random() < async_fail, rng.random() < legacy_fail
        at = NOW - seconds + seconds * (i + 1) / (n + 1)
        found.append(Call(at, legacy, new, l_fault, a_fault, True, rng.random() < diverge))
    return found


def by_rule(verdicts: list[Any], rule: str, span: float = 60.0) -> Any:
    return next(v for v in verdicts if v.rule == rule and v.extra.get("span_s") == span)


class TestWindow:
    """Each call one tuple: paired by path, capped per second, forgotten after the window."""

    def test_live_result_pairs_async_as_the_primary(self) -> None:
        call = call_of(result("health", "live", primary_s=0.003, shadow_s=0.001), 5.0)
        assert (call.async_s, call.legacy_s, call.compared) == (0.003, 0.001, True)
        erring = call_of(result("health", "live", primary_error=DatabaseError("x")), 5.0)
        assert erring.async_fault and not erring.legacy_fault

    def test_refusals_are_not_faults(self) -> None:
        assert not is_fault(None) and not is_fault(ValidationError("no"), MUD.errors)
        assert not is_fault(NotFoundError("gone"), MUD.errors)
        assert is_fault(DatabaseError("down"), MUD.errors) and is_fault(RuntimeError("bug"))

    def test_refusals_are_what_the_declaration_says(self) -> None:
        assert is_fault(ValidationError("no"))  # no refusals declared: a fault like any other

    def test_shadow_timeout_is_a_fault_of_the_shadow_path_and_no_comparison(self) -> None:
        from shadow.compare import timeout_comparison
        from shadow.observation import Observation, Result

        def timed_out(mode: str, primary: str, shadow: str) -> Call:
            return call_of(Result(
                "room", "get_room_by_id", mode, Observation(primary, None, None, 0.001),
                Observation(shadow, None, None, 2.0), timeout_comparison(),
            ), 1.0)  # fmt: skip

        in_shadow = timed_out("shadow", "legacy", "async")
        assert in_shadow.async_fault and not in_shadow.legacy_fault and not in_shadow.compared
        in_live = timed_out("live", "async", "legacy")
        assert in_live.legacy_fault and not in_live.async_fault and not in_live.diverged

    def test_shadow_health_reaches_the_guard_as_the_shadow_paths_errors(self) -> None:
        from shadow.engine import ShadowEngine
        from shadow.ignore import IgnoreRules
        from shadow.metrics import ShadowMetrics
        from shadow.observation import Observation
        from shadow.rollup import MinuteRollup

        class Op:
            domain, name, unordered, ignore_fields = "room", "get_room_by_id", False, frozenset()

        class Sink:
            recorded: list[object] = []

            def record(self, divergence: object) -> None:
                self.recorded.append(divergence)

        seen: list[Call] = []
        sink = Sink()
        engine = ShadowEngine(
            sink,
            IgnoreRules(),
            ShadowMetrics(CollectorRegistry()),
            MinuteRollup(),  # type: ignore[arg-type]
        )
        engine.add_listener(lambda r: seen.append(call_of(r, 1.0)))
        ok = Observation("legacy", 1, None, 0.001)
        engine.observe(
            Op(), ok, Observation("async", None, ConnectionError("x"), 0.01), mode="shadow"
        )
        engine.observe(
            Op(), ok, Observation("async", None, None, 2.0), mode="shadow", timed_out=True
        )
        assert [(c.async_fault, c.legacy_fault, c.compared, c.diverged) for c in seen] == [
            (True, False, False, False),
            (True, False, False, False),
        ]
        assert sink.recorded == []
        assert [e.kind for e in engine.coverage.exemplars()] == ["timeout", "infrastructure"]

    def test_cap_per_second_and_window(self) -> None:
        clock = Clock()
        window = CallWindow(60, per_second=3, clock=clock)
        for _ in range(5):
            window.add_call("item", "async", 0.001, False)
        assert len(window.calls("item", "async", clock.now)) == 3
        assert window.skipped("item", "async") == 2
        clock.now += 61
        assert window.calls("item", "async", clock.now) == []

    def test_reset_forgets_up_to_now_and_record_hands_over_once(self) -> None:
        clock = Clock()
        window = CallWindow(60, clock=clock, record=True)
        window.add_call("item", "async", 0.001, True)
        window.reset("item", "async", clock.now)
        clock.now += 1
        window.add_call("item", "async", 0.001, False)
        assert [c.async_fault for c in window.calls("item", "async", clock.now)] == [False]
        handed = window.unrecorded(clock.now)
        assert len(handed[("item", "async")]) == 2 and window.unrecorded(clock.now) == {}


class TestRules:
    """Each rule: fail on a real regression, pass on equal paths, inconclusive without data."""

    def test_too_few_calls_are_inconclusive_never_failing(self) -> None:
        verdicts = judge("live", calls(10, ratio=5, async_fail=0.3), NOW, LIMITS)
        assert not any(v.failed for v in verdicts)
        latency = by_rule(verdicts, "latency")
        assert latency.outcome is Outcome.INCONCLUSIVE and latency.needed > 0
        tail = by_rule(verdicts, "tail")
        assert tail.outcome is Outcome.INCONCLUSIVE and tail.needed == 300 - tail.n["pairs"]

    def test_latency_two_times_slower_fails_with_its_interval(self) -> None:
        latency = by_rule(judge("live", calls(400, ratio=2.0), NOW, LIMITS), "latency")
        assert latency.failed and latency.ci[0] > 1.5
        assert 1.8 < latency.estimate < 2.2 and latency.n == {"pairs": 400}
        assert "threshold 1.5" in latency.explain()

    def test_latency_of_equal_paths_passes_and_a_small_slowdown_does_not_fail(self) -> None:
        same = by_rule(judge("live", calls(400, ratio=1.0), NOW, LIMITS), "latency")
        assert same.outcome is Outcome.PASS and same.ci[0] < 1 < same.ci[1]
        small = by_rule(judge("live", calls(400, ratio=1.3), NOW, LIMITS), "latency")
        assert not small.failed

    def test_latency_judges_the_most_recent_pairs(self) -> None:
        verdicts = judge("shadow", calls(2000, ratio=1.0), NOW, LIMITS)
        assert by_rule(verdicts, "latency").n == {"pairs": LIMITS.latency_pairs}

    def test_tail_exceedances_fail_only_with_enough_pairs(self) -> None:
        heavy = by_rule(judge("live", calls(1000, slow_tail=0.08), NOW, LIMITS), "tail")
        assert heavy.failed and heavy.extra["exceedances"] >= 5
        assert by_rule(judge("live", calls(1000), NOW, LIMITS), "tail").outcome is Outcome.PASS
        few = by_rule(judge("live", calls(299, slow_tail=0.5), NOW, LIMITS), "tail")
        assert few.outcome is Outcome.INCONCLUSIVE

    def test_mcnemar_catches_async_errors_but_not_legacy_ones(self) -> None:
        erring = by_rule(judge("live", calls(1000, async_fail=0.05), NOW, LIMITS), "errors")
        assert erring.failed and erring.extra["async_only"] > erring.extra["legacy_only"]
        legacy = by_rule(judge("live", calls(1000, legacy_fail=0.2), NOW, LIMITS), "errors")
        assert not legacy.failed
        both = by_rule(judge("live", calls(1000, async_fail=0.05, legacy_fail=0.05, seed=3),
                             NOW, LIMITS), "errors")  # fmt: skip
        assert not both.failed

    def test_mcnemar_floor_ignores_a_significant_but_tiny_excess(self) -> None:
        limits = Thresholds(max_error_rate=0.05)
        erring = by_rule(judge("live", calls(5000, async_fail=0.02), NOW, limits), "errors")
        assert erring.extra["p"] < limits.test_tail and not erring.failed

    def test_mcnemar_excess_must_clear_the_floor_at_its_lower_bound(self) -> None:
        from app.guard_rules import paired_errors

        # 36 of 1,485 pairs failed on async alone: significant, an excess of 2.4% over the 1%
        # floor, but the excess's lower bound (0.99%) does not clear it; twice the pairs do.
        seen = [c._replace(async_fault=i < 36, legacy_fault=False) for i, c in
                enumerate(calls(1485, seed=7))]  # fmt: skip
        unsure = paired_errors(seen, LIMITS)
        assert unsure.extra["p"] < LIMITS.test_tail and unsure.extra["excess"] > 0.02
        assert unsure.ci[0] < LIMITS.max_error_rate and not unsure.failed
        more = [c._replace(async_fault=i < 72, legacy_fault=False) for i, c in
                enumerate(calls(2970, seed=7))]  # fmt: skip
        sure = paired_errors(more, LIMITS)
        assert sure.failed and sure.ci[0] > LIMITS.max_error_rate

    def test_divergence_in_live_only(self) -> None:
        diverging = calls(3000, diverge=0.01, seed=5)
        found = by_rule(judge("live", diverging, NOW, LIMITS), "divergence")
        assert found.failed and found.ci[0] > LIMITS.max_divergence_rate
        assert not any(v.rule == "divergence" for v in judge("shadow", diverging, NOW, LIMITS))
        clean = by_rule(judge("live", calls(20000, seconds=50), NOW, LIMITS), "divergence")
        assert clean.outcome is Outcome.PASS

    def test_async_mode_error_rate_bound(self) -> None:
        erring = [c._replace(legacy_s=0.0, compared=False) for c in calls(800, async_fail=0.1)]
        errors = by_rule(judge("async", erring, NOW, LIMITS), "errors")
        assert errors.failed and errors.n == {"async": 800}
        few = [c._replace(compared=False) for c in calls(800, async_fail=0.01)]
        assert not by_rule(judge("async", few, NOW, LIMITS), "errors").failed

    def test_spans_see_only_their_calls(self) -> None:
        old = calls(1000, seconds=50, async_fail=0.5)[:500]  # all older than 10 s
        verdicts = judge("live", old, NOW, LIMITS)
        assert by_rule(verdicts, "errors", 10.0).n == {"pairs": 0}
        assert by_rule(verdicts, "errors", 60.0).failed


class TestJudge:
    """Repeated looks: a rollback needs ``failure_limit`` failing looks in a row."""

    def test_failure_limit_in_a_row(self) -> None:
        judge_ = Judge(lambda _d: LIMITS)
        slow, fine = calls(400, ratio=2.0), calls(400)
        made = [judge_.look("health", "live", slow, NOW).rollback for _ in range(2)]
        assert made == [None, None]
        assert judge_.look("health", "live", fine, NOW).streak == 0
        decided = [judge_.look("health", "live", slow, NOW) for _ in range(3)]
        assert [d.rollback is not None for d in decided] == [False, False, True]
        assert decided[-1].rollback.rule == "latency"

    def test_catastrophe_acts_on_the_first_look(self) -> None:
        failing = calls(40, seconds=1.5, async_fail=0.9)
        decision = Judge(lambda _d: LIMITS).look("item", "live", failing, NOW)
        assert decision.rollback is not None and decision.rollback.rule == "catastrophe"
        decided = decision.figures()["decided_by"]
        assert 20 <= decided["n"]["async"] <= 40 and decided["estimate"] >= 0.5

    def test_a_look_of_equal_paths_holds(self) -> None:
        decision = Judge(lambda _d: LIMITS).look("room", "live", calls(3000, seconds=50), NOW)
        assert decision.rollback is None and decision.failed == ()


class TestThresholdSettings:
    """Defaults from settings, per-domain overrides from JSON, refused when malformed."""

    def test_overrides_apply_per_domain(self) -> None:
        text = '{"health": {"max_error_rate": 0.1, "dry_run": true, "failure_limit": 5}}'
        default, per_domain = thresholds_from(Settings(guard_overrides=text), ["health", "room"])
        assert default.max_error_rate == 0.01 and not default.dry_run
        assert per_domain["health"].max_error_rate == 0.1 and per_domain["health"].dry_run
        assert per_domain["health"].failure_limit == 5
        assert per_domain["health"].max_latency_ratio == default.max_latency_ratio

    def test_settings_reach_the_thresholds(self) -> None:
        settings = Settings(guard_max_latency_ratio=2.0, guard_dry_run=True, guard_alpha=1e-6)
        default, _ = thresholds_from(settings, ["health"])
        assert (default.max_latency_ratio, default.dry_run, default.alpha) == (2.0, True, 1e-6)

    @pytest.mark.parametrize(
        "text",
        [
            "not json",
            "[1]",
            '{"health": {}}',
            '{"health": {"max_eror_rate": 0.1}}',
            '{"health": {"max_error_rate": -1}}',
            '{"health": {"max_error_rate": true}}',
            '{"health": {"max_p99_ratio": 3}}',
            '{"health": {"dry_run": 1}}',
            '{"health": {"failure_limit": 2.5}}',
            '{"health": {"alpha": 1}}',
        ],
    )
    def test_malformed_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_threshold_overrides(text)
        with pytest.raises(ValueError):
            Settings(guard_overrides=text)

    def test_unknown_domain_is_refused(self) -> None:
        settings = Settings(guard_overrides='{"ghost": {"failure_limit": 5}}')
        with pytest.raises(ValueError, match="ghost"):
            thresholds_from(settings, ["health"])


class TestRollback:
    """A decision caps the domain, turns the flag back, logs once and counts once."""

    def guard(self, flags: FakeFlags, registry: CollectorRegistry, **limits: Any) -> Guard:
        return Guard(flags, list(flags.states), {}, registry=registry, default=Thresholds(**limits))

    async def test_catastrophe_in_live_rolls_back_to_shadow(self) -> None:
        flags, registry = FakeFlags({"health": "live", "room": "live"}), CollectorRegistry()
        guard = self.guard(flags, registry)
        for _ in range(30):
            guard.on_result(result("health", "live", primary_error=DatabaseError("x")))
            guard.on_result(result("room", "live"))
        with capture_logs() as logs:
            assert await guard.check() == [("health", "live", "shadow")]
            assert await guard.check() == []
        override, provider = flags.writes
        assert override[:2] == ("override", "shadow") and override[2]["actor"] == "guard"
        assert provider[:2] == ("set", "shadow") and provider[2]["percent"] == 40
        decided = provider[2]["extra"]["figures"]["decided_by"]
        assert decided["rule"] == "catastrophe" and decided["n"] == {"async": 30}
        assert (decided["estimate"], decided["threshold"]) == (1.0, 0.5)
        assert provider[2]["reason"].startswith("guard: catastrophe: fail; n async 30")
        assert provider[2]["extra"]["dry_run"] is False
        assert [e["event"] for e in logs] == ["guard.rollback"]
        labels = {"domain": "health", "from_mode": "live", "to_mode": "shadow"}
        assert registry.get_sample_value("dualpath_guard_rollbacks_total", labels) == 1

    async def test_async_mode_counts_calls_through_the_wrapped_strategy(self) -> None:
        flags = FakeFlags({"item": "async"})
        guard = self.guard(flags, CollectorRegistry())

        async def failing(route: Any, args: Any, kwargs: Any) -> Any:
            raise DatabaseError("pool gone")

        class Route:
            class operation:
                domain = "item"

        served = guard.wrap_async(failing)
        for _ in range(20):
            with pytest.raises(DatabaseError):
                await served(Route(), (), {})
        assert await guard.check() == [("item", "async", "legacy")]

    async def test_dry_run_changes_nothing_and_records_the_decision(self) -> None:
        flags, registry = FakeFlags({"health": "live"}), CollectorRegistry()
        guard = self.guard(flags, registry, dry_run=True)
        for _ in range(30):
            guard.on_result(result("health", "live", primary_error=DatabaseError("x")))
        with capture_logs() as logs:
            assert await guard.check() == []
        assert flags.states["health"].mode == "live" and flags.caps == {}
        [(kind, mode, note)] = flags.writes
        assert (kind, mode, note["actor"]) == ("note", "live", "guard")
        assert note["extra"]["dry_run"] is True and note["extra"]["to_mode"] == "shadow"
        assert note["extra"]["figures"]["decided_by"]["rule"] == "catastrophe"
        assert "would roll back live to shadow" in note["reason"]
        assert [e["event"] for e in logs] == ["guard.dry_run"]
        labels = {"domain": "health", "from_mode": "live", "to_mode": "shadow"}
        assert registry.get_sample_value("dualpath_guard_dry_run_rollbacks_total", labels) == 1
        assert registry.get_sample_value("dualpath_guard_rollbacks_total", labels) == 0

    async def test_legacy_and_healthy_domains_are_left_alone(self) -> None:
        flags = FakeFlags({"health": "legacy", "room": "shadow"})
        guard = self.guard(flags, CollectorRegistry())
        for _ in range(40):
            guard.on_result(result("room", "shadow", diverged=True))
        assert await guard.check() == [] and flags.writes == []
        assert guard.last["room"].rollback is None


class TestReplayParts:
    """The replay's pure parts: --since parsed, looks recorded by their worst outcome."""

    @pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600),
                                                   ("2d", 172800), ("1.5h", 5400)])  # fmt: skip
    def test_since(self, text: str, seconds: float) -> None:
        from app.guard_replay import parse_since

        assert parse_since(text) == seconds

    @pytest.mark.parametrize("text", ["", "h", "yesterday", "-1h", "0m", "40d", "1w"])
    def test_bad_since(self, text: str) -> None:
        from app.guard_replay import parse_since

        with pytest.raises(ValueError, match="--since"):
            parse_since(text)

    def test_look_outcome(self) -> None:
        from app.guard_record import look_outcome

        judge_ = Judge(lambda _d: LIMITS)
        failing = calls(40, seconds=1.5, async_fail=0.9)
        acted = judge_.look("item", "live", failing, NOW)
        assert look_outcome(acted, dry_run=False) == "rollback"
        assert look_outcome(acted, dry_run=True) == "dry_run"
        held = judge_.look("item", "live", calls(400, ratio=2.0), NOW)
        assert held.rollback is None and look_outcome(held, dry_run=False) == "fail"
        quiet = judge_.look("item", "live", calls(5), NOW)
        assert look_outcome(quiet, dry_run=False) == "inconclusive"
