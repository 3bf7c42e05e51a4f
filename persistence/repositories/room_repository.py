"""Rooms, served from a cache loaded once from the database (rooms, exits, zone start rooms)."""

from __future__ import annotations

from collections.abc import Mapping

from persistence.async_db import AsyncDatabase, statement
from persistence.models import Room, RoomCache
from persistence.repositories._base import Repository, read_key
from persistence.rows import room_from_row

__all__ = ["RoomRepository", "as_room_cache", "load_room_cache"]

ROOMS = statement(
    "SELECT room_id, zone_id, name, description, environment FROM rooms ORDER BY room_id"
)
EXITS = statement("SELECT room_id, direction, target_room_id FROM room_exits")
ZONE_STARTS = statement(
    "SELECT zone_id, start_room_id FROM zones WHERE start_room_id IS NOT NULL ORDER BY zone_id"
)


def as_room_cache(room_cache: Mapping[str, Room] | None) -> RoomCache:
    """``room_cache`` itself when it is a RoomCache (so it stays shared), else a new one."""
    if isinstance(room_cache, RoomCache):
        return room_cache
    cache = RoomCache()
    if room_cache:
        cache.update(room_cache)
    return cache


async def load_room_cache(database: AsyncDatabase, cache: RoomCache) -> RoomCache:
    """Fill ``cache`` in place with every room, its exits and each zone's start room."""
    exits: dict[str, dict[str, str]] = {}
    for row in await database.fetch(EXITS.sql):
        exits.setdefault(row["room_id"], {})[row["direction"]] = row["target_room_id"]
    rooms = {
        row["room_id"]: room_from_row(row, exits.get(row["room_id"], {}))
        for row in await database.fetch(ROOMS.sql)
    }
    starts = {row["zone_id"]: row["start_room_id"] for row in await database.fetch(ZONE_STARTS.sql)}
    cache.update(rooms)
    for stale in set(cache) - set(rooms):
        del cache[stale]
    cache.zone_start_rooms = starts
    cache.loaded = True
    return cache


class RoomRepository(Repository):
    """Room look-ups from the shared RoomCache, loaded on first use or by ``load()``."""

    def __init__(
        self,
        room_cache: Mapping[str, Room] | None = None,
        *,
        database: AsyncDatabase | None = None,
    ) -> None:
        super().__init__(None, database)
        self.room_cache = as_room_cache(room_cache)

    async def load(self) -> RoomCache:
        """(Re)load the cache from the database."""
        return await load_room_cache(self.database, self.room_cache)

    async def ensure_loaded(self) -> RoomCache:
        """The cache, loaded first if it never was."""
        if not self.room_cache.loaded:
            await self.load()
        return self.room_cache

    async def get_room_by_id(self, room_id: str) -> Room | None:
        """The room, or None."""
        key = read_key(room_id, "room_id")
        return (await self.ensure_loaded()).get(key)

    async def list_rooms(self) -> list[Room]:
        """Every room, by ``room_id``."""
        cache = await self.ensure_loaded()
        return [cache[room_id] for room_id in sorted(cache)]
