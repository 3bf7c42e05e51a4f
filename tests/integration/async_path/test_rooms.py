"""Async rooms: one snapshot, taken by the first call that needs a room, as on the legacy path."""

from __future__ import annotations

import pytest

from persistence.async_layer import AsyncPersistenceLayer
from tests.integration.async_path.conftest import run_sql

pytestmark = pytest.mark.integration

NEW_ROOM = "INSERT INTO rooms (room_id, zone_id, name) VALUES ('arkham_attic', 'arkham', 'Attic')"


class TestRoomSnapshot:
    """start() opens the pool only; the first room read loads the cache, which then stays."""

    async def test_start_does_not_load_rooms(
        self, layer: AsyncPersistenceLayer, world: str
    ) -> None:
        await layer.start()
        assert not layer._room_cache.loaded
        run_sql(world, NEW_ROOM)
        assert await layer.get_room_by_id("arkham_attic") is not None
        assert layer._room_cache.loaded

    async def test_later_changes_are_not_seen(
        self, layer: AsyncPersistenceLayer, world: str
    ) -> None:
        assert [r.room_id for r in await layer.list_rooms()] == [
            "arkham_library",
            "arkham_square",
            "dunwich_green",
        ]
        run_sql(world, NEW_ROOM)
        run_sql(world, "UPDATE rooms SET name = 'Renamed' WHERE room_id = 'arkham_square'")
        assert await layer.get_room_by_id("arkham_attic") is None
        square = await layer.get_room_by_id("arkham_square")
        assert square is not None and square.name == "Square"
