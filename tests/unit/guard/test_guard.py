"""The guard's window, rules and rollbacks, with a fake flag provider and a fake clock."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from app.guard import (
    Guard,
    SlidingWindow,
    Thresholds,
    breach,
    is_fault,
    parse_threshold_overrides,
    thresholds_from,
)
from app.settings import Settings
from persistence.errors import DatabaseError, NotFoundError, ValidationError
from tests.unit.guard.fakes import FakeFlags, result

pytestmark = pytest.mark.unit

LIMITS = Thresholds(min_samples=10)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestWindow:
    """Counts per domain, mode and second; old seconds fall out; spans sum what is left."""

    def test_counts_results_by_path(self) -> None:
        window = SlidingWindow(60, Clock())
        window.add_result(result("health", "live", diverged=True))
        window.add_result(result("health", "live", primary_error=DatabaseError("down")))
        window.add_result(result("health", "live", primary_error=NotFoundError("gone")))
        figures = window.figures("health", "live", 60)
        assert (figures.calls, figures.comparisons, figures.divergences) == (3, 3, 1)
        assert figures.errors == {"legacy": 0, "async": 1}
        assert figures.samples == {"legacy": 3, "async": 3}
        assert window.figures("health", "shadow", 60).calls == 0

    def test_old_seconds_leave_the_span(self) -> None:
        clock = Clock()
        window = SlidingWindow(60, clock)
        window.add_call("item", "async", "async", 0.001, True)
        clock.now += 5
        window.add_call("item", "async", "async", 0.001, False)
        assert window.figures("item", "async", 2).errors["async"] == 0
        assert window.figures("item", "async", 60).errors["async"] == 1
        clock.now += 61
        assert window.figures("item", "async", 60).calls == 0

    def test_shadow_timeout_is_an_error_of_the_shadow(self) -> None:
        from shadow.compare import timeout_comparison
        from shadow.observation import Observation, Result

        window = SlidingWindow(60, Clock())
        timed_out = Result(
            "room", "get_room_by_id", "shadow",
            Observation("legacy", None, None, 0.001), Observation("async", None, None, 2.0),
            timeout_comparison(),
        )  # fmt: skip
        window.add_result(timed_out)
        figures = window.figures("room", "shadow", 60)
        assert (figures.comparisons, figures.errors["async"]) == (0, 1)
        assert figures.divergences == 0

    def test_a_slow_legacy_shadow_in_live_is_no_divergence(self) -> None:
        from shadow.compare import timeout_comparison
        from shadow.observation import Observation, Result

        window = SlidingWindow(60, Clock())
        for _ in range(60):
            window.add_result(result("room", "live"))
        slow_legacy = Result(
            "room", "get_room_by_id", "live",
            Observation("async", None, None, 0.001), Observation("legacy", None, None, 2.0),
            timeout_comparison(),
        )  # fmt: skip
        window.add_result(slow_legacy)
        figures = window.figures("room", "live", 60)
        assert (figures.divergences, figures.errors["async"], figures.errors["legacy"]) == (0, 0, 1)
        assert breach("live", figures, LIMITS) is None

    def test_refusals_are_not_faults(self) -> None:
        assert not is_fault(None) and not is_fault(ValidationError("no"))
        assert is_fault(DatabaseError("down")) and is_fault(RuntimeError("bug"))


class TestRules:
    """Which figures breach in which mode; nothing below ``min_samples``."""

    def figures(self, mode: str, n: int, **options: Any) -> Any:
        window = SlidingWindow(60, Clock())
        for _ in range(n):
            window.add_result(result("player", mode, **options))
        return window.figures("player", mode, 60)

    def test_too_few_samples_never_breach(self) -> None:
        assert breach("live", self.figures("live", 9, diverged=True), LIMITS) is None

    def test_live_divergence_rate(self) -> None:
        reason = breach("live", self.figures("live", 10, diverged=True), LIMITS)
        assert reason is not None and "divergence rate 100.0% > 1.0%" in reason

    def test_live_async_errors(self) -> None:
        figures = self.figures("live", 10, primary_error=DatabaseError("x"))
        assert "async error rate" in (breach("live", figures, LIMITS) or "")

    def test_live_latency_ratio(self) -> None:
        slow = self.figures("live", 10, primary_s=0.05, shadow_s=0.001)
        assert "p99" in (breach("live", slow, LIMITS) or "")
        assert breach("live", self.figures("live", 10, primary_s=0.002), LIMITS) is None

    def test_shadow_divergence_does_not_roll_back_but_shadow_errors_do(self) -> None:
        assert breach("shadow", self.figures("shadow", 20, diverged=True), LIMITS) is None
        erring = self.figures("shadow", 20, shadow_error=TimeoutError())
        assert "async error rate" in (breach("shadow", erring, LIMITS) or "")

    def test_legacy_errors_are_not_the_new_paths_fault(self) -> None:
        figures = self.figures("live", 20, shadow_error=DatabaseError("legacy down"))
        assert breach("live", figures, LIMITS) is None


class TestThresholdSettings:
    """Defaults from settings, per-domain overrides from JSON, refused when malformed."""

    def test_overrides_apply_per_domain(self) -> None:
        settings = Settings(guard_overrides='{"health": {"max_error_rate": 0.1}}')
        default, per_domain = thresholds_from(settings, ["health", "room"])
        assert default.max_error_rate == 0.05
        assert per_domain["health"].max_error_rate == 0.1
        assert per_domain["health"].min_samples == default.min_samples

    @pytest.mark.parametrize(
        "text",
        [
            "not json",
            "[1]",
            '{"health": {}}',
            '{"health": {"max_eror_rate": 0.1}}',
            '{"health": {"max_error_rate": -1}}',
            '{"health": {"max_error_rate": true}}',
        ],
    )
    def test_malformed_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_threshold_overrides(text)
        with pytest.raises(ValueError):
            Settings(guard_overrides=text)

    def test_unknown_domain_is_refused(self) -> None:
        settings = Settings(guard_overrides='{"ghost": {"min_samples": 5}}')
        with pytest.raises(ValueError, match="ghost"):
            thresholds_from(settings, ["health"])


class TestRollback:
    """A breach caps the domain, turns the flag back, logs once and counts once."""

    def guard(self, flags: FakeFlags, registry: CollectorRegistry) -> Guard:
        return Guard(flags, list(flags.states), {}, registry=registry, default=LIMITS)

    async def test_live_breach_rolls_back_to_shadow(self) -> None:
        flags, registry = FakeFlags({"health": "live", "room": "live"}), CollectorRegistry()
        guard = self.guard(flags, registry)
        for _ in range(20):
            guard.on_result(result("health", "live", primary_error=DatabaseError("x")))
            guard.on_result(result("room", "live"))
        with capture_logs() as logs:
            assert await guard.check() == [("health", "live", "shadow")]
            assert await guard.check() == []
        override, provider = flags.writes
        assert override[:2] == ("override", "shadow") and override[2]["actor"] == "guard"
        assert provider[:2] == ("set", "shadow") and provider[2]["percent"] == 40
        assert provider[2]["extra"]["figures"]["errors"]["async"] == 20
        assert "async error rate 100.0%" in provider[2]["reason"]
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
        for _ in range(10):
            with pytest.raises(DatabaseError):
                await served(Route(), (), {})
        assert await guard.check() == [("item", "async", "legacy")]

    async def test_legacy_and_healthy_domains_are_left_alone(self) -> None:
        flags = FakeFlags({"health": "legacy", "room": "shadow"})
        guard = self.guard(flags, CollectorRegistry())
        for _ in range(20):
            guard.on_result(result("room", "shadow", diverged=True))
        assert await guard.check() == [] and flags.writes == []
