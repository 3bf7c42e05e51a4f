"""Coverage counts each shadowed call's fate, exports it from zero and keeps it per minute."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from shadow.coverage import Coverage
from shadow.metrics import ShadowMetrics
from shadow.rollup import MinuteRollup

pytestmark = pytest.mark.unit

OPERATIONS = [("player", "get_player_by_id"), ("health", "damage_player")]
REASONS = ["saturated", "raced"]


def build() -> tuple[Coverage, CollectorRegistry, MinuteRollup]:
    registry, rollup = CollectorRegistry(), MinuteRollup()
    return Coverage(ShadowMetrics(registry), rollup), registry, rollup


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


class TestExport:
    """Every known operation, reason and kind is exported at zero before any call."""

    def test_known_counters_start_at_zero(self) -> None:
        coverage, registry, _rollup = build()
        coverage.know(OPERATIONS, REASONS)
        for domain, operation in OPERATIONS:
            found = sample(
                registry, "dualpath_shadow_calls_total", domain=domain, operation=operation
            )
            assert found == 0.0
            for reason in REASONS:
                labels = {"domain": domain, "operation": operation, "reason": reason}
                assert sample(registry, "dualpath_shadow_skipped_total", **labels) == 0.0
            for kind in ("timeout", "infrastructure"):
                labels = {"domain": domain, "operation": operation, "kind": kind}
                assert sample(registry, "dualpath_shadow_health_errors_total", **labels) == 0.0

    def test_an_unknown_operation_is_not_exported_until_it_is_counted(self) -> None:
        coverage, registry, _rollup = build()
        coverage.know(OPERATIONS, REASONS)
        labels = {"domain": "room", "operation": "get_room"}
        assert sample(registry, "dualpath_shadow_calls_total", **labels) is None


class TestCounting:
    """Served calls and skips reach Prometheus, the minute rollup and the process totals."""

    def test_served_and_skipped(self) -> None:
        coverage, registry, rollup = build()
        for _ in range(3):
            coverage.served("player", "get_player_by_id")
        coverage.skipped("player", "get_player_by_id", "saturated")
        coverage.skipped("player", "get_player_by_id", "raced")
        coverage.skipped("player", "get_player_by_id", "saturated")
        labels = {"domain": "player", "operation": "get_player_by_id"}
        assert sample(registry, "dualpath_shadow_calls_total", **labels) == 3.0
        assert (
            sample(registry, "dualpath_shadow_skipped_total", **labels, reason="saturated") == 2.0
        )
        assert coverage.skipped_by_reason() == {"saturated": 2, "raced": 1}
        [cell] = rollup.drain().values()
        assert (cell.served, cell.skipped, cell.calls) == (3, {"saturated": 2, "raced": 1}, 0)

    def test_an_unknown_figure_is_refused(self) -> None:
        with pytest.raises(ValueError, match="no coverage figure 'lost'"):
            MinuteRollup().count("player", "get_player_by_id", "lost")
