"""The migration map's step: one service forward, never another one moved with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.service_map import MapInputs, build_map, service_mode, step_for
from flags.model import FlagState
from shadow.service_counts import ServiceCell
from shadow.service_store import ServiceFigures

pytestmark = pytest.mark.unit


def flag(mode: str, services: set[str] | None = None, percent: int = 100) -> FlagState:
    return FlagState(
        "health",
        mode,
        percent,
        frozenset(services) if services is not None else None,  # type: ignore[arg-type]
    )


class TestStep:
    """Which flag change moves one service alone, and why there is none otherwise."""

    def test_legacy_for_everyone_targets_the_service(self) -> None:
        step, refused = step_for(flag("legacy"), "combat_service")
        assert refused is None and step is not None
        assert step.body() == {
            "mode": "shadow", "percent": 100, "services": ["combat_service"],
            "reason": "migration map: combat_service to shadow",
        }  # fmt: skip

    def test_only_it_named_steps_forward(self) -> None:
        step, _ = step_for(flag("shadow", {"combat_service"}), "combat_service")
        assert step is not None and (step.mode, step.services) == ("live", ("combat_service",))

    def test_joining_a_shadow_list(self) -> None:
        step, _ = step_for(flag("shadow", {"combat_service"}), "user_manager")
        assert step is not None
        assert (step.mode, step.services) == ("shadow", ("combat_service", "user_manager"))

    @pytest.mark.parametrize(
        ("state", "service", "why"),
        [
            (flag("live"), "combat_service", "every service runs live"),
            (flag("shadow", {"a_service", "combat_service"}), "combat_service", "also names"),
            (flag("live", {"combat_service"}), "user_manager", "cannot join"),
            (flag("async", {"combat_service"}), "combat_service", "last step"),
            (flag("legacy"), "unattributed", "name no service"),
        ],
    )
    def test_refused(self, state: FlagState, service: str, why: str) -> None:
        step, refused = step_for(state, service)
        assert step is None and refused is not None and why in refused

    def test_mode_of_a_service(self) -> None:
        assert service_mode(flag("live", {"a"}), "a") == "live"
        assert service_mode(flag("live", {"a"}), "b") == "legacy"
        assert service_mode(flag("live", None, percent=0), "a") == "legacy"


class TestBuildMap:
    """Rows: configured, then seen, then unattributed; figures land in their cell."""

    def test_rows_and_cells(self) -> None:
        now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        seen = ServiceCell(calls=30, legacy_answered=10, async_answered=20, comparisons=7)
        inputs = MapInputs(
            flags=[flag("live", {"combat_service"})],
            window=[ServiceFigures("zeta_service", "health", seen, now.replace(minute=0))],
            since_change=[],
            open_groups={("zeta_service", "health"): ["abc"]},
            configured=["combat_service"],
            threshold=0.01,
        )
        found = build_map(inputs, now, window_minutes=15)
        assert [r.service for r in found.rows] == ["combat_service", "zeta_service", "unattributed"]
        cell = found.cell("zeta_service", "health")
        assert cell is not None and cell.async_share == pytest.approx(2 / 3)
        assert cell.calls_per_minute == 30.0  # one minute since its first call
        assert (cell.mode, cell.targeted, cell.open_divergences) == ("legacy", False, 1)
        combat = found.cell("combat_service", "health")
        assert combat is not None and (combat.mode, combat.targeted) == ("live", True)
        assert found.as_dict()["services"][0]["cells"]["health"]["calls"] == 0
