"""The two persistence interfaces, as Protocols: the legacy sync one and the async facade.

Both paths implement the same operations with the same semantics; only the names of a few
differ (legacy ``get_player`` is async ``get_player_by_id``, ``get_room`` is
``get_room_by_id``, ``get_all_professions`` is ``get_professions``); each operation's
declaration in ``app.operations`` names both. The rules behind the writes are in
``docs/game-rules.md`` and ``persistence.rules``.

Common semantics (both paths):

- Reads return ``None`` (single) or ``[]`` (lists) when nothing matches; they never raise
  ``NotFoundError``.
- Writes that name a missing player, container or item raise ``NotFoundError``.
- Bad input raises ``ValidationError`` (a ``ValueError``) before anything is written.
- Every other driver or database failure raises ``DatabaseError``.
- Lists are ordered: players by ``lower(name)`` then ``player_id``; rooms by ``room_id``;
  professions by ``profession_id``; containers by ``container_id``, except decayed containers
  by ``decay_at`` then ``container_id``; item instances by ``item_instance_id``;
  ``get_players_batch`` in the order of the ids asked for (missing ones and repeats skipped).
- Rooms are static: both paths serve them from a cache loaded once at start-up, that is by
  the first call that needs a room (``get_room``, ``list_rooms``,
  ``validate_and_fix_player_room``), and never reloaded; rooms added or changed while the
  service runs are seen after a restart. Loading on first use, not in the async ``start()``,
  keeps building the legacy layer free of connections and has both paths take the same
  snapshot.
- Health and XP writes are atomic single-statement updates in the database (no lost updates
  under concurrency), then update the ``player`` object they were given (if any) to the stored
  values, and publish their events after commit.
- A write runs in the caller's unit of work if one is open (``transaction()``), else in its
  own transaction committed at the end of the call. Inside a unit of work nothing commits
  until ``commit()``; events are collected on the unit of work and published on commit.
- A call that fails in the database inside a unit of work (a refused statement aborts the
  PostgreSQL transaction) fails the unit of work: later calls raise ``TransactionAborted``,
  and ``commit()`` rolls back, drops the events and raises ``TransactionAborted``;
  ``rollback()`` makes it usable again. A ``ValidationError`` or ``NotFoundError`` raised by
  a call's own checks before it writes leaves the unit of work intact.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from persistence.models import Container, ItemInstance, Player, Profession, Room


class UnitOfWork(Protocol):
    """A caller-owned transaction: rolls back on exit unless ``commit()`` was called."""

    events: list[object]  # events collected so far, published only on commit

    def commit(self) -> Any:
        """Commit (awaitable on the async path) and publish the collected events."""
        ...

    def rollback(self) -> Any:
        """Roll back (awaitable on the async path) and drop the collected events."""
        ...


class SyncPersistence(Protocol):
    """The legacy interface: ``persistence.PersistenceLayer`` and the router's sync facade."""

    def transaction(self) -> AbstractContextManager[UnitOfWork]: ...
    def close(self) -> None: ...

    # players
    def get_player(self, player_id: UUID | str) -> Player | None: ...
    def get_player_by_name(self, name: str) -> Player | None: ...
    def get_player_by_user_id(self, user_id: UUID | str) -> Player | None: ...
    def save_player(self, player: Player) -> None: ...
    def save_players(self, players: Sequence[Player]) -> None: ...
    def delete_player(self, player_id: UUID | str) -> None: ...
    def list_players(self, limit: int = 100, offset: int = 0) -> list[Player]: ...
    def get_players_in_room(self, room_id: str) -> list[Player]: ...
    def get_players_batch(self, player_ids: Sequence[UUID | str]) -> list[Player]: ...
    def update_player_last_active(
        self, player_id: UUID | str, last_active: datetime | None = None
    ) -> None: ...
    def validate_and_fix_player_room(self, player: Player) -> bool: ...

    # rooms
    def get_room(self, room_id: str) -> Room | None: ...
    def list_rooms(self) -> list[Room]: ...

    # professions
    def get_all_professions(self) -> list[Profession]: ...
    def get_profession_by_id(self, profession_id: int) -> Profession | None: ...

    # health
    def damage_player(self, player: Player, amount: int, damage_type: str = "physical") -> int: ...
    def heal_player(self, player: Player, amount: int) -> int: ...
    def update_player_health(self, player_id: UUID | str, delta: int, reason: str = "") -> int: ...

    # experience
    def gain_experience(self, player: Player, amount: int, source: str = "unknown") -> int: ...
    def update_player_xp(self, player_id: UUID | str, delta: int, reason: str = "") -> int: ...
    def update_player_stat_field(
        self, player_id: UUID | str, field_name: str, delta: int, reason: str = ""
    ) -> int: ...

    # containers
    def create_container(
        self,
        source_type: str,
        *,
        room_id: str | None = None,
        entity_id: UUID | str | None = None,
        owner_id: UUID | str | None = None,
        lock_state: str = "unlocked",
        capacity_slots: int = 20,
        weight_limit: Decimal | None = None,
        decay_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        container_id: UUID | str | None = None,
    ) -> Container: ...
    def get_container(self, container_id: UUID | str) -> Container | None: ...
    def get_containers_by_room_id(self, room_id: str) -> list[Container]: ...
    def get_containers_by_entity_id(self, entity_id: UUID | str) -> list[Container]: ...
    def update_container(
        self,
        container_id: UUID | str,
        *,
        lock_state: str | None = None,
        capacity_slots: int | None = None,
        decay_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container: ...
    def get_decayed_containers(self, now: datetime | None = None) -> list[Container]: ...
    def delete_container(self, container_id: UUID | str) -> None: ...
    def add_item_to_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container: ...
    def remove_item_from_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container: ...

    # items
    def create_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "none",
        owner_id: str | None = None,
        location_context: str | None = None,
        quantity: int = 1,
        condition: int | None = None,
        custom_name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ItemInstance: ...
    def ensure_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "none",
        owner_id: str | None = None,
        location_context: str | None = None,
        quantity: int = 1,
        condition: int | None = None,
        custom_name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ItemInstance: ...
    def get_item_instance(self, item_instance_id: str) -> ItemInstance | None: ...
    def item_instance_exists(self, item_instance_id: str) -> bool: ...
    def delete_item_instance(self, item_instance_id: str) -> None: ...
    def list_item_instances_by_owner(
        self, owner_type: str, owner_id: str
    ) -> list[ItemInstance]: ...


class AsyncPersistence(Protocol):
    """The async facade: ``persistence.AsyncPersistenceLayer`` and ``routing.PersistenceRouter``.

    Same operations and semantics as ``SyncPersistence``, awaited; three have other names
    (``get_player_by_id``, ``get_room_by_id``, ``get_professions``).
    """

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]: ...
    async def close(self) -> None: ...

    async def get_player_by_id(self, player_id: UUID | str) -> Player | None: ...
    async def get_player_by_name(self, name: str) -> Player | None: ...
    async def get_player_by_user_id(self, user_id: UUID | str) -> Player | None: ...
    async def save_player(self, player: Player) -> None: ...
    async def save_players(self, players: Sequence[Player]) -> None: ...
    async def delete_player(self, player_id: UUID | str) -> None: ...
    async def list_players(self, limit: int = 100, offset: int = 0) -> list[Player]: ...
    async def get_players_in_room(self, room_id: str) -> list[Player]: ...
    async def get_players_batch(self, player_ids: Sequence[UUID | str]) -> list[Player]: ...
    async def update_player_last_active(
        self, player_id: UUID | str, last_active: datetime | None = None
    ) -> None: ...
    async def validate_and_fix_player_room(self, player: Player) -> bool: ...
    async def get_room_by_id(self, room_id: str) -> Room | None: ...
    async def list_rooms(self) -> list[Room]: ...
    async def get_professions(self) -> list[Profession]: ...
    async def get_profession_by_id(self, profession_id: int) -> Profession | None: ...
    async def damage_player(
        self, player: Player, amount: int, damage_type: str = "physical"
    ) -> int: ...
    async def heal_player(self, player: Player, amount: int) -> int: ...
    async def update_player_health(
        self, player_id: UUID | str, delta: int, reason: str = ""
    ) -> int: ...
    async def gain_experience(
        self, player: Player, amount: int, source: str = "unknown"
    ) -> int: ...
    async def update_player_xp(
        self, player_id: UUID | str, delta: int, reason: str = ""
    ) -> int: ...
    async def update_player_stat_field(
        self, player_id: UUID | str, field_name: str, delta: int, reason: str = ""
    ) -> int: ...

    # containers
    async def create_container(
        self,
        source_type: str,
        *,
        room_id: str | None = None,
        entity_id: UUID | str | None = None,
        owner_id: UUID | str | None = None,
        lock_state: str = "unlocked",
        capacity_slots: int = 20,
        weight_limit: Decimal | None = None,
        decay_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        container_id: UUID | str | None = None,
    ) -> Container: ...
    async def get_container(self, container_id: UUID | str) -> Container | None: ...
    async def get_containers_by_room_id(self, room_id: str) -> list[Container]: ...
    async def get_containers_by_entity_id(self, entity_id: UUID | str) -> list[Container]: ...
    async def update_container(
        self,
        container_id: UUID | str,
        *,
        lock_state: str | None = None,
        capacity_slots: int | None = None,
        decay_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container: ...
    async def get_decayed_containers(self, now: datetime | None = None) -> list[Container]: ...
    async def delete_container(self, container_id: UUID | str) -> None: ...
    async def add_item_to_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container: ...
    async def remove_item_from_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container: ...

    # items
    async def create_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "none",
        owner_id: str | None = None,
        location_context: str | None = None,
        quantity: int = 1,
        condition: int | None = None,
        custom_name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ItemInstance: ...
    async def ensure_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "none",
        owner_id: str | None = None,
        location_context: str | None = None,
        quantity: int = 1,
        condition: int | None = None,
        custom_name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ItemInstance: ...
    async def get_item_instance(self, item_instance_id: str) -> ItemInstance | None: ...
    async def item_instance_exists(self, item_instance_id: str) -> bool: ...
    async def delete_item_instance(self, item_instance_id: str) -> None: ...
    async def list_item_instances_by_owner(
        self, owner_type: str, owner_id: str
    ) -> list[ItemInstance]: ...
