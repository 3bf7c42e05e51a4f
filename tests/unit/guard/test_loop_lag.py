"""The event loop's lag: measured beside the guard, carried by each call, and a gate on latency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from app.guard import Guard, Thresholds
from app.guard_rules import judge, on_a_quiet_loop
from app.guard_window import CallWindow
from app.loop_lag import LoopLag, runqueue_wait_s
from app.verdicts import Outcome
from tests.unit.guard.fakes import FakeFlags, result
from tests.unit.guard.test_guard import NOW, by_rule, calls

pytestmark = pytest.mark.unit

LIMITS = Thresholds(enforce_latency=True)


def lagged(found: list[Any], lag_s: float, every: int = 1) -> list[Any]:
    """``found`` with every ``every``-th call timed on a loop lagging ``lag_s``."""
    return [c._replace(loop_lag_s=lag_s) if i % every == 0 else c for i, c in enumerate(found)]


class TestMonitor:
    """How late the loop wakes, as a call ending now would be charged with it."""

    def test_a_call_is_charged_with_the_wake_ups_during_it(self) -> None:
        now = [100.0]
        lag = LoopLag(tick_s=0.05, clock=lambda: now[0])
        lag.note(99.5, 0.030)
        lag.note(99.95, 0.002)
        assert lag.during(0.01) == pytest.approx(0.002)  # a short call: the last wake-up
        assert lag.during(0.6) == pytest.approx(0.030)  # a long one saw the stall too
        now[0] = 106.0
        lag.note(106.0, 0.001)  # wake-ups older than keep_s are forgotten
        assert lag.during(10.0) == pytest.approx(0.001)

    def test_a_pending_wake_up_that_is_late_counts_before_it_runs(self) -> None:
        now = [100.0]
        lag = LoopLag(tick_s=0.05, clock=lambda: now[0])
        lag._due = 100.05  # the monitor sleeps until then
        assert lag.during(0.01) == 0.0
        now[0] = 100.45  # a stall: the wake-up is 0.4 s late and has not run
        assert lag.during(0.01) == pytest.approx(0.4)

    async def test_a_blocked_loop_is_measured(self) -> None:
        """A 300 ms block of the loop reads as at least 200 ms of lag (a 100 ms margin)."""
        lag = LoopLag(tick_s=0.01)
        lag.start()
        try:
            await asyncio.sleep(0.05)
            time.sleep(0.3)  # noqa: ASYNC251 - blocks the loop, as a saturated process does
            await asyncio.sleep(0.05)
            assert lag.during(0.4) >= 0.2
        finally:
            await lag.stop()
        assert lag.during(10.0) == 0.0

    async def test_a_thread_starved_of_cpu_is_charged_with_its_wait(self) -> None:
        """Waiting 30 ms for a CPU between wake-ups reads as 30 ms of lag, late or not."""
        waited = [0.0]

        def runqueue() -> float:
            waited[0] += 0.03
            return waited[0]

        lag = LoopLag(tick_s=0.01, waited=runqueue)
        lag.start()
        try:
            await asyncio.sleep(0.1)
            assert lag.during(0.05) >= 0.03 - 1e-9  # lateness alone may add to it on a busy machine
        finally:
            await lag.stop()

    def test_linux_tells_the_thread_s_runqueue_wait(self) -> None:
        first = runqueue_wait_s()
        assert first is not None and first >= 0
        second = runqueue_wait_s()
        assert second is not None and second >= first

    def test_the_window_charges_each_call_with_the_lag_as_it_ends(self) -> None:
        level = [0.0]
        spans: list[float] = []

        def lag(duration_s: float) -> float:
            spans.append(duration_s)
            return level[0]

        window = CallWindow(60.0, clock=lambda: NOW, lag=lag)
        window.add_result(result("room", "live"))
        level[0] = 0.25
        window.add_call("room", "async", 0.001, False)
        window.add_result(result("room", "live"))
        live, served = window.calls("room", "live", NOW), window.calls("room", "async", NOW)
        assert [c.loop_lag_s for c in live] == [0.0, 0.25]
        assert [c.loop_lag_s for c in served] == [0.25]
        assert spans == [pytest.approx(0.002), 0.001, pytest.approx(0.002)]  # both paths' time


class TestGate:
    """Latency and tail judge only pairs timed on a quiet loop, and say what they set aside."""

    def test_a_saturated_loop_makes_latency_inconclusive_not_failing(self) -> None:
        verdicts = judge("live", lagged(calls(1000, ratio=3.0), 0.05), NOW, LIMITS)
        for rule in ("latency", "tail"):
            verdict = by_rule(verdicts, rule)
            assert verdict.outcome is Outcome.INCONCLUSIVE and verdict.needed > 0
            assert verdict.extra["lagged_pairs"] == 1000 and verdict.extra["quiet_pairs"] == 0
            assert verdict.extra["worst_loop_lag_ms"] == pytest.approx(50.0)
            assert "1000 pairs set aside" in verdict.detail and "10 ms" in verdict.detail

    def test_a_regression_on_a_quiet_loop_still_fails_beside_lagged_pairs(self) -> None:
        found = lagged(calls(1000, ratio=2.0), 0.05, every=2)
        latency = by_rule(judge("live", found, NOW, LIMITS), "latency")
        assert latency.failed and latency.n == {"pairs": 500}
        assert latency.extra["lagged_pairs"] == 500 and 1.8 < latency.estimate < 2.2

    def test_lag_at_the_threshold_is_judged_and_errors_ignore_the_lag(self) -> None:
        at_limit = lagged(calls(400, ratio=2.0, async_fail=0.2, seed=3), 0.010)
        assert len(on_a_quiet_loop(at_limit, LIMITS)) == 400
        verdicts = judge("live", lagged(calls(400, async_fail=0.2, seed=3), 0.5), NOW, LIMITS)
        errors = by_rule(verdicts, "errors")
        assert errors.failed and "lagged_pairs" not in errors.extra

    def test_the_threshold_is_a_setting(self) -> None:
        found = lagged(calls(400, ratio=2.0), 0.05)
        relaxed = Thresholds(enforce_latency=True, max_loop_lag_ms=100.0)
        assert by_rule(judge("live", found, NOW, relaxed), "latency").failed
        assert not by_rule(judge("live", found, NOW, LIMITS), "latency").failed


class TestGuardRunsTheMonitor:
    """The guard times its loop while it looks, and stops with it."""

    async def test_started_and_stopped_with_the_guard(self) -> None:
        guard = Guard(FakeFlags({"room": "live"}), ["room"], {}, registry=CollectorRegistry())
        guard.start()
        try:
            await asyncio.sleep(0.02)
            time.sleep(0.2)  # noqa: ASYNC251 - blocks the loop on purpose
            await asyncio.sleep(0.02)
            guard.on_result(result("room", "live", primary_s=0.3, shadow_s=0.001))
            [call] = guard.window.calls("room", "live", time.time() + 1)
            assert call.loop_lag_s >= 0.1  # a 200 ms block, read with a 100 ms margin
        finally:
            await guard.stop()
        assert guard.loop_lag.during(10.0) == 0.0
