"""Readiness verdicts from flags, rollup rows and open groups (docs/rollout.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.readiness import ReadinessRules, assess
from flags.model import FlagState
from flags.overrides import Override

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
RULES = ReadinessRules(min_minutes=30, min_comparisons=100)


def row(domain: str, minutes_ago: int, comparisons: int, **extra: Any) -> dict[str, Any]:
    minute = (NOW - timedelta(minutes=minutes_ago)).replace(second=0)
    errors = extra.pop("errors", {"legacy": 0, "async": 0})
    return {
        "domain": domain, "minute": minute, "calls": comparisons, "comparisons": comparisons,
        "divergences": extra.pop("divergences", 0), "errors": errors,
    }  # fmt: skip


def flag(domain: str, mode: str, minutes_ago: int) -> FlagState:
    return FlagState(domain, mode, updated_at=NOW - timedelta(minutes=minutes_ago))  # type: ignore[arg-type]


def one(state: FlagState, rows: list[Any], groups: list[Any] = (), **kw: Any) -> Any:  # type: ignore[assignment]
    (found,) = assess([state], rows, groups, kw.get("overrides", {}), NOW, RULES)
    return found


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

    def test_open_groups_block(self) -> None:
        groups = [{"domain": "player"}, {"domain": "player"}, {"domain": "room"}]
        found = one(flag("player", "shadow", 60), [row("player", 10, 150)], groups)
        assert found.verdict == "blocked: 2 open divergence groups"

    def test_too_soon_and_too_few(self) -> None:
        found = one(flag("player", "live", 12), [row("player", 5, 40)])
        assert found.blockers == ("12 of 30 minutes in live", "40 of 100 comparisons")

    def test_rows_from_before_the_change_do_not_count(self) -> None:
        found = one(flag("player", "shadow", 40), [row("player", 50, 500), row("player", 5, 50)])
        assert found.comparisons == 50 and not found.ready

    def test_error_and_divergence_rates(self) -> None:
        rows = [row("room", 5, 200, divergences=5, errors={"legacy": 0, "async": 20})]
        found = one(flag("room", "live", 60), rows)
        assert "async error rate 10.0% > 5.0%" in found.verdict
        assert "divergence rate 2.5% > 1.0%" in found.verdict

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
