"""Damage, healing and signed health changes: clamped, atomic, with their events."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

import pytest

from persistence.errors import NotFoundError, ValidationError
from persistence.events import HPChanged, PlayerDied, PlayerMortallyWounded
from persistence.models import Player
from tests.contract.adapters import PathUnderTest
from tests.contract.conftest import MISSING
from tests.contract.expect import as_player, rejected
from tests.contract.stored import StoredState

pytestmark = pytest.mark.contract

NON_INTEGERS: list[Any] = ["5", "ten", 5.0, 2.5, None, True, False]


def _with_hp(stored: StoredState, hp: int, max_hp: int = 100, index: int = 0) -> Player:
    """The index-th seeded player, with HP arranged in the database first."""
    pid = stored.players()[index]["player_id"]
    stored.set_stats(pid, current_health=hp, max_health=max_hp)
    return as_player(stored.player(pid) or {})


def _hp(stored: StoredState, player_id: UUID) -> int:
    return int((stored.player(player_id) or {})["stats"]["current_health"])


class TestDamage:
    """damage_player applies -amount, clamps at -10, and records damage type and 'damage'."""

    async def test_seeded_hp(self, path: PathUnderTest, stored: StoredState) -> None:
        row = next(r for r in stored.players() if r["stats"]["current_health"] > 40)
        old, max_hp = row["stats"]["current_health"], row["stats"]["max_health"]
        player = as_player(row)
        assert await path.call("damage_player", player, 30, "claw") == old - 30
        assert _hp(stored, player.player_id) == old - 30
        assert player.stats.current_health == old - 30
        assert path.published == [
            HPChanged(player.player_id, old, old - 30, max_hp, -30, "claw", "damage")
        ]

    async def test_default_type(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 100)
        assert await path.call("damage_player", player, 1) == 99
        assert path.published == [
            HPChanged(player.player_id, 100, 99, 100, -1, "physical", "damage")
        ]

    async def test_mortally_wounded(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 5)
        assert await path.call("damage_player", player, 8, "bite") == -3
        assert _hp(stored, player.player_id) == -3
        assert path.published == [
            HPChanged(player.player_id, 5, -3, 100, -8, "bite", "damage"),
            PlayerMortallyWounded(player.player_id, -3),
        ]

    async def test_exactly_zero_is_mortal(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 7)
        assert await path.call("damage_player", player, 7, "fall") == 0
        assert path.published[1:] == [PlayerMortallyWounded(player.player_id, 0)]

    async def test_died_clamped(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 5)
        assert await path.call("damage_player", player, 100, "shoggoth") == -10
        assert _hp(stored, player.player_id) == -10
        assert path.published == [
            HPChanged(player.player_id, 5, -10, 100, -15, "shoggoth", "damage"),
            PlayerDied(player.player_id, -10, "shoggoth"),
        ]

    async def test_dying_to_dead(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, -4)
        assert await path.call("damage_player", player, 6, "bleed") == -10
        assert path.published == [
            HPChanged(player.player_id, -4, -10, 100, -6, "bleed", "damage"),
            PlayerDied(player.player_id, -10, "bleed"),
        ]

    async def test_already_dead_no_events(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, -10)
        assert await path.call("damage_player", player, 5, "claw") == -10
        assert _hp(stored, player.player_id) == -10
        assert path.published == []

    async def test_zero_damage_no_events(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 50)
        assert await path.call("damage_player", player, 0, "claw") == 50
        assert path.published == []

    async def test_stale_object_uses_stored_hp(
        self, path: PathUnderTest, stored: StoredState
    ) -> None:
        player = _with_hp(stored, 100)
        stored.set_stats(player.player_id, current_health=40)
        assert await path.call("damage_player", player, 15, "claw") == 25
        assert _hp(stored, player.player_id) == 25
        assert player.stats.current_health == 25
        assert path.published == [HPChanged(player.player_id, 40, 25, 100, -15, "claw", "damage")]

    async def test_other_stats_untouched(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 90)
        before = (stored.player(player.player_id) or {})["stats"]
        await path.call("damage_player", player, 10, "claw")
        assert (stored.player(player.player_id) or {})["stats"] == {**before, "current_health": 80}


class TestConcurrency:
    """Concurrent writers, each holding a stale copy of the player, never lose an update."""

    async def test_no_lost_damage(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 100, max_hp=100)
        copies = [
            (dataclasses.replace(player, stats=dataclasses.replace(player.stats)), 2, "claw")
            for _ in range(12)
        ]
        results = await path.concurrently("damage_player", copies)
        assert _hp(stored, player.player_id) == 100 - 2 * 12
        assert sorted(results) == list(range(100 - 2 * 12, 100, 2))
        hp_events = [e for e in path.published if isinstance(e, HPChanged)]
        assert sorted((e.old_hp, e.new_hp) for e in hp_events) == [
            (hp + 2, hp) for hp in range(100 - 2 * 12, 100, 2)
        ]

    async def test_no_lost_mixed_updates(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = _with_hp(stored, 50).player_id
        deltas = [(pid, d, "mix") for d in (5, -3, 7, -2, 4, -6, 1, -1)]
        await path.concurrently("update_player_health", deltas)
        assert _hp(stored, pid) == 50 + sum(d for _, d, _ in deltas)


class TestHeal:
    """heal_player applies +amount up to max, with damage type None and reason 'heal'."""

    async def test_heal(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 40, max_hp=120)
        assert await path.call("heal_player", player, 25) == 65
        assert player.stats.current_health == 65
        assert path.published == [HPChanged(player.player_id, 40, 65, 120, 25, None, "heal")]

    async def test_clamped_at_max(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 90)
        assert await path.call("heal_player", player, 500) == 100
        assert _hp(stored, player.player_id) == 100
        assert path.published == [HPChanged(player.player_id, 90, 100, 100, 10, None, "heal")]

    async def test_full_no_events(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, 100)
        assert await path.call("heal_player", player, 10) == 100
        assert path.published == []

    async def test_heal_out_of_dying(self, path: PathUnderTest, stored: StoredState) -> None:
        player = _with_hp(stored, -6)
        assert await path.call("heal_player", player, 10) == 4
        assert path.published == [HPChanged(player.player_id, -6, 4, 100, 10, None, "heal")]


class TestUpdateHealth:
    """update_player_health applies a signed delta with the caller's reason."""

    @pytest.mark.parametrize(
        ("start", "delta", "end"), [(50, -20, 30), (50, 20, 70), (50, 80, 100), (50, -99, -10)]
    )
    async def test_delta(
        self, path: PathUnderTest, stored: StoredState, start: int, delta: int, end: int
    ) -> None:
        pid = _with_hp(stored, start).player_id
        assert await path.call("update_player_health", pid, delta, "ritual") == end
        assert _hp(stored, pid) == end
        assert path.published[0] == HPChanged(pid, start, end, 100, end - start, None, "ritual")

    async def test_by_text_id(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = _with_hp(stored, 50).player_id
        assert await path.call("update_player_health", str(pid), -5) == 45
        assert path.published == [HPChanged(pid, 50, 45, 100, -5, None, "")]


class TestHealthRejects:
    """Bad amounts, bad ids and missing players: nothing written, nothing published."""

    @pytest.mark.parametrize("method", ["damage_player", "heal_player"])
    @pytest.mark.parametrize("amount", [-1, -30, *NON_INTEGERS])
    async def test_bad_amount(
        self, path: PathUnderTest, stored: StoredState, method: str, amount: Any
    ) -> None:
        player = _with_hp(stored, 50)
        await rejected(path, stored, ValidationError, method, player, amount)
        assert player.stats.current_health == 50

    @pytest.mark.parametrize("delta", NON_INTEGERS)
    async def test_bad_delta(self, path: PathUnderTest, stored: StoredState, delta: Any) -> None:
        pid = _with_hp(stored, 50).player_id
        await rejected(path, stored, ValidationError, "update_player_health", pid, delta)

    async def test_malformed_id(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, ValidationError, "update_player_health", "nope", -5)

    async def test_missing_player(self, path: PathUnderTest, stored: StoredState) -> None:
        ghost = _with_hp(stored, 50)
        ghost.player_id = MISSING
        await rejected(path, stored, NotFoundError, "damage_player", ghost, 5)
        await rejected(path, stored, NotFoundError, "heal_player", ghost, 5)
        await rejected(path, stored, NotFoundError, "update_player_health", MISSING, -5)
