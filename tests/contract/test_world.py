"""Rooms and professions on both paths, checked against the stored rows."""

from __future__ import annotations

import pytest

from persistence.models import Profession, Room
from tests.contract.adapters import PathUnderTest
from tests.contract.stored import Row, StoredState

pytestmark = pytest.mark.contract


def _room(stored: StoredState, row: Row) -> Room:
    return Room(
        room_id=row["room_id"],
        zone_id=row["zone_id"],
        name=row["name"],
        description=row["description"],
        environment=row["environment"],
        exits=stored.exits(row["room_id"]),
    )


def _profession(row: Row) -> Profession:
    return Profession(
        profession_id=row["profession_id"],
        name=row["name"],
        description=row["description"],
        flavor_text=row["flavor_text"],
        stat_requirements=row["stat_requirements"],
        is_available=row["is_available"],
    )


class TestRooms:
    """Rooms with their exits, by id and as an ordered list."""

    async def test_get_room(self, path: PathUnderTest, stored: StoredState) -> None:
        for row in stored.rows("SELECT * FROM rooms ORDER BY room_id")[::7]:
            room = await path.call("get_room_by_id", row["room_id"])
            assert room == _room(stored, row)
            assert room.exits and all(isinstance(t, str) for t in room.exits.values())

    async def test_missing_room(self, path: PathUnderTest, stored: StoredState) -> None:
        assert await path.call("get_room_by_id", "yuggoth_000") is None

    async def test_list_rooms(self, path: PathUnderTest, stored: StoredState) -> None:
        rows = stored.rows("SELECT * FROM rooms ORDER BY room_id")
        rooms = await path.call("list_rooms")
        assert [r.room_id for r in rooms] == [r["room_id"] for r in rows]
        assert len(rooms) >= 100
        assert rooms[::11] == [_room(stored, row) for row in rows[::11]]

    async def test_start_room_links_both_ways(
        self, path: PathUnderTest, stored: StoredState
    ) -> None:
        start = stored.value("SELECT start_room_id FROM zones ORDER BY zone_id LIMIT 1")
        room = await path.call("get_room_by_id", start)
        for direction, target in room.exits.items():
            back = await path.call("get_room_by_id", target)
            assert start in back.exits.values(), direction


class TestProfessions:
    """Available professions by id; unavailable ones are hidden from the list."""

    async def test_list_hides_unavailable(self, path: PathUnderTest, stored: StoredState) -> None:
        rows = stored.rows("SELECT * FROM professions WHERE is_available ORDER BY profession_id")
        assert await path.call("get_professions") == [_profession(r) for r in rows]
        hidden = stored.value("SELECT count(*) FROM professions WHERE NOT is_available")
        assert hidden >= 1

    async def test_by_id(self, path: PathUnderTest, stored: StoredState) -> None:
        for row in stored.rows("SELECT * FROM professions WHERE is_available"):
            found = await path.call("get_profession_by_id", row["profession_id"])
            assert found == _profession(row)

    async def test_missing(self, path: PathUnderTest, stored: StoredState) -> None:
        assert await path.call("get_profession_by_id", 4242) is None
