"""Players: CRUD, batch reads and writes, last-active stamps and room repair."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from persistence import rules
from persistence.async_db import AsyncDatabase, statement
from persistence.errors import NotFoundError, ValidationError
from persistence.events import EventBus
from persistence.models import Player, Room
from persistence.repositories._base import (
    Repository,
    optional_datetime,
    read_key,
    require_player,
)
from persistence.repositories.room_repository import as_room_cache, load_room_cache
from persistence.rows import player_from_row

__all__ = ["PlayerRepository"]

_COLUMNS = (
    "player_id, user_id, name, profession_id, current_room_id, stats, inventory, equipped, "
    "experience_points, level, is_admin, created_at, last_active"
)
_ORDER = "ORDER BY lower(name), player_id"
BY_ID = statement(f"SELECT {_COLUMNS} FROM players WHERE player_id = :player_id", "player_id")
BY_NAME = statement(f"SELECT {_COLUMNS} FROM players WHERE lower(name) = lower(:name)", "name")
BY_USER = statement(f"SELECT {_COLUMNS} FROM players WHERE user_id = :user_id", "user_id")
BATCH = statement(
    f"SELECT {_COLUMNS} FROM players WHERE player_id = ANY(:player_ids)", "player_ids"
)
IN_ROOM = statement(
    f"SELECT {_COLUMNS} FROM players WHERE current_room_id = :room_id {_ORDER}", "room_id"
)
PAGE = statement(
    f"SELECT {_COLUMNS} FROM players {_ORDER} LIMIT :limit OFFSET :offset", "limit", "offset"
)
_SAVED = (
    "player_id user_id name profession_id current_room_id stats inventory equipped "
    "experience_points level is_admin last_active"
).split()
UPSERT = statement(
    f"INSERT INTO players ({', '.join(_SAVED)}) VALUES ("
    + ", ".join(f":{c}" for c in _SAVED[:-1])
    + ", COALESCE(:last_active, now())) ON CONFLICT (player_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _SAVED[1:]),
    *_SAVED,
)
DELETE = statement(
    "DELETE FROM players WHERE player_id = :player_id RETURNING player_id", "player_id"
)
TOUCH = statement(
    "UPDATE players SET last_active = COALESCE(:last_active, now()) "
    "WHERE player_id = :player_id RETURNING player_id",
    "last_active",
    "player_id",
)


def _upsert_args(player: Player) -> tuple[Any, ...]:
    return (
        rules.require_uuid(player.player_id, "player_id"),
        rules.require_uuid(player.user_id, "user_id"),
        player.name,
        player.profession_id,
        player.current_room_id,
        player.stats.to_dict(),
        player.inventory,
        player.equipped,
        player.experience_points,
        player.level,
        player.is_admin,
        optional_datetime(player.last_active, "last_active"),
    )


class PlayerRepository(Repository):
    """Player CRUD and queries; room repair uses the shared room cache."""

    def __init__(
        self,
        room_cache: Mapping[str, Room] | None = None,
        event_bus: EventBus | None = None,
        *,
        database: AsyncDatabase | None = None,
    ) -> None:
        super().__init__(event_bus, database)
        self.room_cache = as_room_cache(room_cache)

    async def _one(self, sql: str, arg: object) -> Player | None:
        row = await self.database.fetchrow(sql, arg)
        return None if row is None else player_from_row(row)

    async def _many(self, sql: str, *args: object) -> list[Player]:
        return [player_from_row(row) for row in await self.database.fetch(sql, *args)]

    async def get_player_by_id(self, player_id: UUID | str) -> Player | None:
        """The player, or None."""
        return await self._one(BY_ID.sql, rules.require_uuid(player_id, "player_id"))

    async def get_player_by_name(self, name: str) -> Player | None:
        """The player with this name, compared without regard to case, or None."""
        return await self._one(BY_NAME.sql, read_key(name, "name"))

    async def get_player_by_user_id(self, user_id: UUID | str) -> Player | None:
        """The player of this account, or None."""
        return await self._one(BY_USER.sql, rules.require_uuid(user_id, "user_id"))

    async def list_players(self, limit: int = 100, offset: int = 0) -> list[Player]:
        """A page of players, by lower-case name then id."""
        limit = rules.require_amount(limit, "limit")
        offset = rules.require_amount(offset, "offset")
        return await self._many(PAGE.sql, limit, offset)

    async def get_players_in_room(self, room_id: str) -> list[Player]:
        """The players in a room, by lower-case name then id."""
        return await self._many(IN_ROOM.sql, read_key(room_id, "room_id"))

    async def get_players_batch(self, player_ids: Sequence[UUID | str]) -> list[Player]:
        """The players asked for, in that order; missing ids and repeats are skipped."""
        ids = rules.require_ids(player_ids, "player_ids")
        if not ids:
            return []
        found = {p.player_id: p for p in await self._many(BATCH.sql, list(set(ids)))}
        ordered = dict.fromkeys(i for i in ids if i in found)
        return [found[i] for i in ordered]

    async def save_player(self, player: Player) -> None:
        """Insert or update every column but ``created_at``."""
        args = _upsert_args(rules.validate_player(player))

        async def op(conn: asyncpg.Connection) -> tuple[None, list[object]]:
            await conn.execute(UPSERT.sql, *args)
            return None, []

        await self.database.write(op, self.event_bus, single_statement=True)

    async def save_players(self, players: Sequence[Player]) -> None:
        """Save several players atomically: all of them or none."""
        if isinstance(players, str | bytes) or not isinstance(players, Sequence):
            raise ValidationError("players must be a list of Player")
        batch = [_upsert_args(rules.validate_player(p)) for p in players]
        if not batch:
            return

        async def op(conn: asyncpg.Connection) -> tuple[None, list[object]]:
            await conn.executemany(UPSERT.sql, batch)
            return None, []

        await self.database.write(op, self.event_bus)

    async def delete_player(self, player_id: UUID | str) -> None:
        """Delete the player; NotFoundError if there is none."""
        pid = rules.require_uuid(player_id, "player_id")
        await self._write_found(DELETE.sql, pid, what=f"player {pid}")

    async def update_player_last_active(
        self, player_id: UUID | str, last_active: datetime | None = None
    ) -> None:
        """Stamp ``last_active`` (now by default); NotFoundError if there is no such player."""
        pid = rules.require_uuid(player_id, "player_id")
        stamp = optional_datetime(last_active, "last_active")
        await self._write_found(TOUCH.sql, stamp, pid, what=f"player {pid}")

    async def _write_found(self, sql: str, *args: object, what: str) -> None:
        async def op(conn: asyncpg.Connection) -> tuple[None, list[object]]:
            if await conn.fetchrow(sql, *args) is None:
                raise NotFoundError(f"{what} not found")
            return None, []

        await self.database.write(op, self.event_bus, single_statement=True)

    async def validate_and_fix_player_room(self, player: Player) -> bool:
        """Move the player (in memory) to a start room if their room is gone; True if moved."""
        require_player(player)
        if not self.room_cache.loaded:
            await load_room_cache(self.database, self.room_cache)
        room_id = rules.fallback_room(player.current_room_id, self.room_cache)
        if room_id is None:
            return False
        player.current_room_id = room_id
        return True
