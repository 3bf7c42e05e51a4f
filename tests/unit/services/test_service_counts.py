"""``ServiceCounts``: recorded calls fold into totals and minutes; failed writes are put back."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from routing.registry import Operation
from routing.services import ServiceNames
from shadow.observation import MATCH, Comparison, Mismatch, Observation, Result
from shadow.service_counts import ServiceCollector, ServiceCounts

pytestmark = pytest.mark.unit

GET = Operation("player", "get_player_by_id", "read", "player_id", "get_player")


class Clock:
    """A hand-set clock: seconds since the epoch."""

    def __init__(self) -> None:
        self.now = 600.0

    def __call__(self) -> float:
        return self.now


def result(mismatched: bool, shadow_error: bool = False) -> Result:
    primary = Observation("legacy", 1, None, 0.001)
    shadow = Observation("async", 2, RuntimeError("x") if shadow_error else None, 0.001)
    comparison = Comparison((Mismatch("value", ("root",)),)) if mismatched else MATCH
    return Result("player", "get_player_by_id", "shadow", primary, shadow, comparison)


class TestCounting:
    """Calls by answering path and error; comparisons and divergences by service."""

    def test_fold_totals_and_minutes(self) -> None:
        clock = Clock()
        counts = ServiceCounts(clock)
        counts.record(("combat_service", GET, "legacy", False))
        counts.record(("combat_service", GET, "async", True))
        counts.count_result("combat_service", result(True, shadow_error=True))
        counts.count_result("combat_service", result(False))
        total = counts.totals()[("combat_service", "player", "get_player_by_id")]
        assert (total.calls, total.legacy_answered, total.async_answered) == (2, 1, 1)
        assert (total.async_errors, total.legacy_errors) == (1, 0)
        assert (total.comparisons, total.divergences, total.shadow_errors) == (2, 1, 1)
        clock.now += 60
        counts.record(("combat_service", GET, "legacy", False))
        minutes, hits = counts.drain()
        assert sorted(k[0] for k in minutes) == [10, 11]
        assert [h.count for h in hits.values()] == [1]

    def test_restore_merges_what_was_not_written(self) -> None:
        counts = ServiceCounts(Clock())
        counts.record(("a", GET, "legacy", False))
        counts.count_result("a", result(True))
        minutes, hits = counts.drain()
        counts.record(("a", GET, "legacy", False))
        counts.count_result("a", result(True))
        counts.restore(minutes, hits)
        again, hits_again = counts.drain()
        assert [c.calls for c in again.values()] == [2]
        assert [h.count for h in hits_again.values()] == [2]
        assert counts.pending() == 0


class TestPrometheus:
    """Configured services and unattributed are exported at zero before any call."""

    def test_zero_initialised(self) -> None:
        counts = ServiceCounts(Clock())
        registry = CollectorRegistry()
        collector = ServiceCollector(counts, ServiceNames(["combat_service"]), [("player", "x")])
        registry.register(collector)
        counts.record(("user_manager", GET, "async", False))
        text = generate_latest(registry).decode()
        assert (
            'dualpath_service_calls_total{domain="player",operation="x",path="legacy",'
            'service="combat_service"} 0.0'
        ) in text
        assert 'operation="x",path="async",service="unattributed"} 0.0' in text
        assert (
            'dualpath_service_calls_total{domain="player",operation="get_player_by_id",'
            'path="async",service="user_manager"} 1.0'
        ) in text
