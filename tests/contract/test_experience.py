"""Experience, levels and whitelisted stat changes, with their events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from persistence.errors import NotFoundError, ValidationError
from persistence.events import PlayerLeveledUp, StatChanged, XPGained
from persistence.models import Player
from tests.contract.adapters import PathUnderTest
from tests.contract.conftest import MISSING
from tests.contract.expect import as_player, level_of, rejected
from tests.contract.stored import StoredState

pytestmark = pytest.mark.contract

NON_INTEGERS: list[Any] = ["5", 5.0, None, True, False]
INJECTIONS = [
    "strength'; DROP TABLE players; --",
    "strength = 100, is_admin = true --",
    "stats->>'strength'",
    "current_health",
    "max_health",
    "experience_points",
    "is_admin",
    "Strength",
    "",
]


def _with_xp(stored: StoredState, xp: int, index: int = 0) -> Player:
    pid = stored.players()[index]["player_id"]
    stored.set_xp(pid, xp, level_of(xp))
    return as_player(stored.player(pid) or {})


def _xp(stored: StoredState, player_id: UUID) -> tuple[int, int]:
    row = stored.player(player_id) or {}
    return row["experience_points"], row["level"]


class TestGainExperience:
    """XP goes up by amount, level follows, events only when XP moved."""

    async def test_seeded_xp(self, path: PathUnderTest, stored: StoredState) -> None:
        row = stored.players()[2]
        old_xp, old_level = row["experience_points"], row["level"]
        player = as_player(row)
        new_xp = old_xp + 250
        assert await path.call("gain_experience", player, 250, "cultist") == new_xp
        assert _xp(stored, player.player_id) == (new_xp, level_of(new_xp))
        assert (player.experience_points, player.level) == (new_xp, level_of(new_xp))
        expected: list[object] = [
            XPGained(player.player_id, 250, new_xp, level_of(new_xp), "cultist")
        ]
        if level_of(new_xp) != old_level:
            expected.append(PlayerLeveledUp(player.player_id, old_level, level_of(new_xp)))
        assert path.published == expected

    @pytest.mark.parametrize(
        ("start", "amount", "end_level"), [(0, 99, 1), (0, 100, 2), (399, 1, 3), (0, 900, 4)]
    )
    async def test_level_boundaries(
        self, path: PathUnderTest, stored: StoredState, start: int, amount: int, end_level: int
    ) -> None:
        player = _with_xp(stored, start)
        old_level = player.level
        await path.call("gain_experience", player, amount, "kill")
        assert _xp(stored, player.player_id) == (start + amount, end_level)
        leveled = [PlayerLeveledUp(player.player_id, old_level, end_level)]
        assert path.published[1:] == (leveled if end_level != old_level else [])

    async def test_default_source(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_xp(stored, 10)
        await path.call("gain_experience", player, 5)
        assert path.published == [XPGained(player.player_id, 5, 15, 1, "unknown")]

    async def test_zero_no_events(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_xp(stored, 10)
        assert await path.call("gain_experience", player, 0, "kill") == 10
        assert path.published == []


class TestUpdateXp:
    """A signed delta by id; XP never below 0; levels go down too."""

    async def test_level_down(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = _with_xp(stored, 450).player_id
        assert await path.call("update_player_xp", pid, -100, "curse") == 350
        assert _xp(stored, pid) == (350, 2)
        assert path.published == [XPGained(pid, -100, 350, 2, "curse"), PlayerLeveledUp(pid, 3, 2)]

    async def test_floor_at_zero(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = _with_xp(stored, 30).player_id
        assert await path.call("update_player_xp", pid, -50, "curse") == 0
        assert _xp(stored, pid) == (0, 1)
        assert path.published == [XPGained(pid, -30, 0, 1, "curse")]

    async def test_at_zero_no_events(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = _with_xp(stored, 0).player_id
        assert await path.call("update_player_xp", pid, -5) == 0
        assert path.published == []


class TestConcurrentXp:
    """Concurrent XP and stat writers never lose an update."""

    async def test_no_lost_xp(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = _with_xp(stored, 0).player_id
        await path.concurrently("update_player_xp", [(pid, 30, "kill")] * 10)
        assert _xp(stored, pid) == (300, level_of(300))
        assert sum(e.amount for e in path.published if isinstance(e, XPGained)) == 300

    async def test_no_lost_stat(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = stored.players()[0]["player_id"]
        stored.set_stats(pid, occult_knowledge=0)
        await path.concurrently("update_player_stat_field", [(pid, "occult_knowledge", 3, "")] * 9)
        assert (stored.player(pid) or {})["stats"]["occult_knowledge"] == 27


class TestStatField:
    """Whitelisted fields only, clamped to their bounds, one StatChanged when moved."""

    async def test_sanity_loss(self, path: PathUnderTest, stored: StoredState) -> None:
        row = stored.players()[1]
        old = row["stats"]["sanity"]
        new = max(0, old - 15)
        pid = row["player_id"]
        assert await path.call("update_player_stat_field", pid, "sanity", -15, "tome") == new
        assert (stored.player(pid) or {})["stats"] == {**row["stats"], "sanity": new}
        assert path.published == [StatChanged(pid, "sanity", old, new, "tome")]

    @pytest.mark.parametrize(
        ("field", "start", "delta", "end"),
        [
            ("strength", 95, 500, 100),
            ("strength", 5, -50, 1),
            ("fear", 3, -10, 0),
            ("occult_knowledge", 0, 7, 7),
            ("charisma", 40, 0, 40),
        ],
    )
    async def test_clamped(
        self, path: PathUnderTest, stored: StoredState, field: str, start: int, delta: int, end: int
    ) -> None:
        pid = stored.players()[0]["player_id"]
        stored.set_stats(pid, **{field: start})
        assert await path.call("update_player_stat_field", pid, field, delta, "x") == end
        assert (stored.player(pid) or {})["stats"][field] == end
        assert path.published == (
            [StatChanged(pid, field, start, end, "x")] if end != start else []
        )

    async def test_at_bound_no_events(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = stored.players()[0]["player_id"]
        stored.set_stats(pid, wisdom=100)
        assert await path.call("update_player_stat_field", pid, "wisdom", 3) == 100
        assert path.published == []


class TestExperienceRejects:
    """Bad names, amounts and ids: ValidationError; missing players: NotFoundError."""

    @pytest.mark.parametrize("field", INJECTIONS)
    async def test_field_not_whitelisted(
        self, path: PathUnderTest, stored: StoredState, field: str
    ) -> None:
        pid = stored.players()[0]["player_id"]
        await rejected(path, stored, ValidationError, "update_player_stat_field", pid, field, 1)
        assert stored.value("SELECT count(*) FROM players") == 20

    @pytest.mark.parametrize("delta", NON_INTEGERS)
    async def test_bad_deltas(self, path: PathUnderTest, stored: StoredState, delta: Any) -> None:
        player = _with_xp(stored, 10)
        pid = player.player_id
        await rejected(path, stored, ValidationError, "update_player_xp", pid, delta)
        await rejected(
            path, stored, ValidationError, "update_player_stat_field", pid, "fear", delta
        )
        await rejected(path, stored, ValidationError, "gain_experience", player, delta)

    async def test_negative_gain(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_xp(stored, 10)
        await rejected(path, stored, ValidationError, "gain_experience", player, -1)
        assert player.experience_points == 10

    async def test_malformed_id(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, ValidationError, "update_player_xp", "nope", 5)
        await rejected(path, stored, ValidationError, "update_player_stat_field", "nope", "fear", 1)

    async def test_missing_player(self, path: PathUnderTest, stored: StoredState) -> None:
        ghost = _with_xp(stored, 10)
        ghost.player_id = MISSING
        await rejected(path, stored, NotFoundError, "gain_experience", ghost, 5)
        await rejected(path, stored, NotFoundError, "update_player_xp", MISSING, 5)
        await rejected(path, stored, NotFoundError, "update_player_stat_field", MISSING, "fear", 1)
