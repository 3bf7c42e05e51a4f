"""``AsyncPersistenceLayer``: the async facade over the seven repositories.

It implements ``persistence.api.AsyncPersistence``. Every repository shares the layer's
``AsyncDatabase`` (its own when ``database_url`` is given, else the process default built from
``DATABASE_URL`` at first use), its EventBus and one ``RoomCache`` (``_room_cache``, loaded
once by the first call that needs a room), so a unit of work opened with ``transaction()``
covers them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from persistence.api import AsyncPersistence

from persistence.async_db import AsyncDatabase, default_database
from persistence.events import EventBus
from persistence.models import Player, Profession, Room, RoomCache
from persistence.repositories import (
    ContainerRepository,
    ExperienceRepository,
    HealthRepository,
    ItemRepository,
    PlayerRepository,
    ProfessionRepository,
    RoomRepository,
)
from persistence.repositories._inventory_methods import InventoryMethods
from units import AsyncUnit

__all__ = ["AsyncPersistenceLayer"]


class _Repositories:
    """The seven repositories of one layer, over its database, bus and room cache."""

    def __init__(self, database: AsyncDatabase, layer: AsyncPersistenceLayer) -> None:
        bus, cache = layer.event_bus, layer._room_cache
        self.players = PlayerRepository(cache, bus, database=database)
        self.rooms = RoomRepository(cache, database=database)
        self.professions = ProfessionRepository(database=database)
        self.health = HealthRepository(bus, database=database)
        self.experience = ExperienceRepository(bus, database=database)
        self.containers = ContainerRepository(database=database)
        self.items = ItemRepository(database=database)


class AsyncPersistenceLayer(InventoryMethods):
    """The async persistence facade; see ``persistence.api.AsyncPersistence``."""

    def __init__(
        self,
        event_bus: EventBus | None = None,
        *,
        database_url: str | None = None,
        pool_size: int = 10,
    ) -> None:
        self.event_bus = event_bus if event_bus is not None else EventBus()
        self._pool_size = pool_size
        self._database: AsyncDatabase | None = (
            AsyncDatabase(database_url, pool_size=pool_size) if database_url else None
        )
        self._room_cache = RoomCache()
        self._repositories: _Repositories | None = None

    @property
    def database(self) -> AsyncDatabase:
        """The layer's database; the default one is resolved (from ``DATABASE_URL``) here."""
        if self._database is None:
            self._database = default_database(pool_size=self._pool_size)
        return self._database

    @property
    def repos(self) -> _Repositories:
        """The seven repositories, built on first use over the layer's database."""
        repos = self._repositories
        if repos is None:
            repos = self._repositories = _Repositories(self.database, self)
        return repos

    async def start(self) -> None:
        """Open the pool of the running loop.

        The room cache is loaded by the first call that needs a room, as on the legacy path,
        so both paths serve the same snapshot of the rooms (see ``persistence.api``).
        """
        await self.database.pool()

    async def close(self) -> None:
        """Close the database's pools (they reopen on next use)."""
        if self._database is not None:
            await self._database.close()

    def transaction(self) -> AbstractAsyncContextManager[AsyncUnit]:
        """``async with layer.transaction() as uow``: a unit of work; see ``async_db``."""
        return self.database.transaction(self.event_bus)

    # --- players ---------------------------------------------------------------------------

    async def get_player_by_id(self, player_id: UUID | str) -> Player | None:
        """The player, or None."""
        return await self.repos.players.get_player_by_id(player_id)

    async def get_player_by_name(self, name: str) -> Player | None:
        """The player with this name (any case), or None."""
        return await self.repos.players.get_player_by_name(name)

    async def get_player_by_user_id(self, user_id: UUID | str) -> Player | None:
        """The player of this account, or None."""
        return await self.repos.players.get_player_by_user_id(user_id)

    async def save_player(self, player: Player) -> None:
        """Insert or update the player."""
        await self.repos.players.save_player(player)

    async def save_players(self, players: Sequence[Player]) -> None:
        """Save players atomically."""
        await self.repos.players.save_players(players)

    async def delete_player(self, player_id: UUID | str) -> None:
        """Delete the player."""
        await self.repos.players.delete_player(player_id)

    async def list_players(self, limit: int = 100, offset: int = 0) -> list[Player]:
        """A page of players."""
        return await self.repos.players.list_players(limit, offset)

    async def get_players_in_room(self, room_id: str) -> list[Player]:
        """The players in a room."""
        return await self.repos.players.get_players_in_room(room_id)

    async def get_players_batch(self, player_ids: Sequence[UUID | str]) -> list[Player]:
        """The players asked for, in that order."""
        return await self.repos.players.get_players_batch(player_ids)

    async def update_player_last_active(
        self, player_id: UUID | str, last_active: datetime | None = None
    ) -> None:
        """Stamp the player's last activity."""
        await self.repos.players.update_player_last_active(player_id, last_active)

    async def validate_and_fix_player_room(self, player: Player) -> bool:
        """Move the player to a start room if their room is gone."""
        return await self.repos.players.validate_and_fix_player_room(player)

    # --- rooms and professions ------------------------------------------------------------

    async def get_room_by_id(self, room_id: str) -> Room | None:
        """The room, or None."""
        return await self.repos.rooms.get_room_by_id(room_id)

    async def list_rooms(self) -> list[Room]:
        """Every room."""
        return await self.repos.rooms.list_rooms()

    async def get_professions(self) -> list[Profession]:
        """The available professions."""
        return await self.repos.professions.get_all_professions()

    async def get_profession_by_id(self, profession_id: int) -> Profession | None:
        """The profession, or None."""
        return await self.repos.professions.get_profession_by_id(profession_id)

    # --- health, experience and stats -----------------------------------------------------

    async def damage_player(
        self, player: Player, amount: int, damage_type: str = "physical"
    ) -> int:
        """Damage the player; returns the new HP."""
        return await self.repos.health.damage_player(player, amount, damage_type)

    async def heal_player(self, player: Player, amount: int) -> int:
        """Heal the player; returns the new HP."""
        return await self.repos.health.heal_player(player, amount)

    async def update_player_health(
        self, player_id: UUID | str, delta: int, reason: str = ""
    ) -> int:
        """Change HP by a signed delta; returns the new HP."""
        return await self.repos.health.update_player_health(player_id, delta, reason)

    async def gain_experience(self, player: Player, amount: int, source: str = "unknown") -> int:
        """Add XP; returns the new XP."""
        return await self.repos.experience.gain_experience(player, amount, source)

    async def update_player_xp(self, player_id: UUID | str, delta: int, reason: str = "") -> int:
        """Change XP by a signed delta; returns the new XP."""
        return await self.repos.experience.update_player_xp(player_id, delta, reason)

    async def update_player_stat_field(
        self, player_id: UUID | str, field_name: str, delta: int, reason: str = ""
    ) -> int:
        """Change one whitelisted stat; returns its new value."""
        return await self.repos.experience.update_player_stat_field(
            player_id, field_name, delta, reason
        )


if TYPE_CHECKING:

    def _conforms(layer: AsyncPersistenceLayer) -> AsyncPersistence:
        return layer
