"""A unit of work rolls back unless committed; its events are published only on commit."""

from __future__ import annotations

from uuid import UUID

import pytest

from persistence.errors import PersistenceError, ValidationError
from persistence.events import HPChanged, StatChanged, XPGained
from persistence.models import Player
from tests.contract.adapters import PathUnderTest
from tests.contract.expect import as_player
from tests.contract.stored import StoredState

pytestmark = pytest.mark.contract


class Boom(Exception):
    """Raised by a test inside a unit of work."""


def _arranged(stored: StoredState) -> tuple[Player, UUID]:
    row = stored.players()[0]
    stored.set_stats(row["player_id"], current_health=60, max_health=100, sanity=50)
    stored.set_xp(row["player_id"], 0, 1)
    player = as_player(stored.player(row["player_id"]) or {})
    return player, row["player_id"]


class TestCommit:
    """commit() persists every write and then publishes their events, in order."""

    async def test_commit(self, path: PathUnderTest, stored: StoredState) -> None:
        player, pid = _arranged(stored)
        expected = [
            HPChanged(pid, 60, 40, 100, -20, "claw", "damage"),
            XPGained(pid, 50, 50, 1, "kill"),
            StatChanged(pid, "sanity", 50, 45, "horror"),
        ]
        async with path.transaction() as uow:
            await path.call("damage_player", player, 20, "claw")
            await path.call("gain_experience", player, 50, "kill")
            await path.call("update_player_stat_field", pid, "sanity", -5, "horror")
            assert uow.events == expected
            assert path.published == []
            row = stored.player(pid) or {}  # another connection sees nothing yet
            assert row["stats"]["current_health"] == 60 and row["experience_points"] == 0
            await uow.commit()
            assert path.published == expected
        row = stored.player(pid) or {}
        assert (row["stats"]["current_health"], row["stats"]["sanity"]) == (40, 45)
        assert row["experience_points"] == 50
        assert path.published == expected

    async def test_writes_see_earlier_writes(
        self, path: PathUnderTest, stored: StoredState
    ) -> None:
        _player, pid = _arranged(stored)
        async with path.transaction() as uow:
            await path.call("update_player_health", pid, -10, "a")
            await path.call("update_player_health", pid, -10, "b")
            await uow.commit()
        assert (stored.player(pid) or {})["stats"]["current_health"] == 40
        assert [e.new_hp for e in path.published] == [50, 40]


class TestRollback:
    """Rollback, an exception, or leaving without commit() leaves no trace and no events."""

    async def test_rollback(self, path: PathUnderTest, stored: StoredState) -> None:
        player, pid = _arranged(stored)
        before = stored.dump()
        async with path.transaction() as uow:
            await path.call("damage_player", player, 20, "claw")
            await path.call("update_player_xp", pid, 500, "kill")
            await path.call("create_item_instance", "item_uow", "key.brass")
            assert len(uow.events) == 3
            await uow.rollback()
            assert uow.events == []
        assert stored.dump() == before
        assert path.published == []

    async def test_exit_without_commit(self, path: PathUnderTest, stored: StoredState) -> None:
        player, pid = _arranged(stored)
        before = stored.dump()
        async with path.transaction():
            await path.call("damage_player", player, 20, "claw")
            await path.call("update_player_last_active", pid)
        assert stored.dump() == before
        assert path.published == []

    async def test_exception_rolls_back(self, path: PathUnderTest, stored: StoredState) -> None:
        player, _pid = _arranged(stored)
        before = stored.dump()
        with pytest.raises(Boom):
            async with path.transaction():
                await path.call("damage_player", player, 20, "claw")
                raise Boom
        assert stored.dump() == before
        assert path.published == []

    async def test_failed_write_then_rollback(
        self, path: PathUnderTest, stored: StoredState
    ) -> None:
        player, pid = _arranged(stored)
        before = stored.dump()
        async with path.transaction() as uow:
            await path.call("damage_player", player, 20, "claw")
            with pytest.raises(ValidationError):
                await path.call("update_player_stat_field", pid, "is_admin", 1)
            await uow.rollback()
        assert stored.dump() == before
        assert path.published == []

    async def test_usable_after(self, path: PathUnderTest, stored: StoredState) -> None:
        _player, pid = _arranged(stored)
        async with path.transaction() as uow:
            await path.call("update_player_health", pid, -5, "x")
            await uow.rollback()
        assert await path.call("update_player_health", pid, -7, "y") == 53
        assert path.published == [HPChanged(pid, 60, 53, 100, -7, None, "y")]


class TestCommitAfterFailedStatement:
    """A write the database refused aborts the transaction: commit() cannot succeed after it.

    Nothing is stored, so the events of earlier writes must not be published either.
    """

    async def test_commit_refused(self, path: PathUnderTest, stored: StoredState) -> None:
        _player, pid = _arranged(stored)
        taken = stored.value("SELECT min(item_instance_id) FROM item_instances")
        before = stored.dump()
        async with path.transaction() as uow:
            await path.call("update_player_health", pid, -5, "x")
            with pytest.raises(PersistenceError):
                await path.call("create_item_instance", taken, "key.brass")
            with pytest.raises(PersistenceError):
                await uow.commit()
        assert stored.dump() == before
        assert path.published == []

    async def test_reads_own_writes(self, path: PathUnderTest, stored: StoredState) -> None:
        _player, pid = _arranged(stored)
        async with path.transaction() as uow:
            await path.call("update_player_health", pid, -5, "x")
            inside = await path.call("get_player_by_id", pid)
            assert (stored.player(pid) or {})["stats"]["current_health"] == 60
            await uow.rollback()
        assert inside.stats.current_health == 55
