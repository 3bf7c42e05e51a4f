"""``PersistenceLayer``: the legacy, synchronous implementation of ``SyncPersistence``.

Every public method validates its input with ``persistence.rules`` before any SQL, then runs
one piece of work (a function of a ``Session`` from the sibling modules) through the shipped
units of work (``units.SyncUnits``, over the layer's ``ConnectionPool`` and with
``translate.translate`` as their error hook): in the caller's unit of work if one is open in
this context, else in its own transaction on a pooled connection, committed at the end of the
call and followed by its events.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast
from uuid import UUID

import units
from persistence import rules
from persistence.errors import ValidationError
from persistence.events import EventBus
from persistence.legacy import containers, inputs, items, players, vitals, world
from persistence.legacy.players import upsert as upsert_players  # `players` is a parameter
from persistence.legacy.pool import ConnectionPool, dsn_from_url
from persistence.legacy.session import Session
from persistence.legacy.translate import translate
from persistence.models import Container, ItemInstance, Player, Profession, Room, RoomCache
from units import SyncUnit, SyncUnits

if TYPE_CHECKING:
    from persistence.api import SyncPersistence

__all__ = ["PersistenceLayer"]

P = ParamSpec("P")
T = TypeVar("T")


class PersistenceLayer:
    """Synchronous persistence over psycopg2: a pool serialised by an RLock, thread-safe.

    ``database_url`` defaults to ``$DATABASE_URL``, read when the layer is built. Nothing
    connects until the first call.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        event_bus: EventBus | None = None,
        pool_size: int = 10,
        acquire_timeout: float = 10.0,
    ) -> None:
        url = database_url if database_url is not None else os.environ.get("DATABASE_URL")
        if not url:
            raise RuntimeError("no database URL: pass database_url= or set DATABASE_URL")
        self.event_bus = event_bus if event_bus is not None else EventBus()
        self._pool = ConnectionPool(
            dsn_from_url(url), size=pool_size, acquire_timeout=acquire_timeout
        )
        self._units = SyncUnits(
            source=self._pool,
            publish=self.event_bus.publish_all,
            translate=translate,
            session=Session,
        )
        self._rooms: RoomCache | None = None
        self._rooms_lock = threading.Lock()

    # --- plumbing ------------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[SyncUnit]:
        """A unit of work on one connection, for this layer in this context.

        Calls made while it is open use its connection and do not commit; it rolls back on
        exit unless ``commit()`` was called. Opening a second one in the same context raises
        ``UnitOfWorkAlreadyOpen``. A call that fails in the database fails the unit of work:
        later calls and ``commit()`` raise ``TransactionAborted`` (``units.SyncUnit``).
        """
        return self._units.transaction()

    def close(self) -> None:
        """Close every connection; later calls raise DatabaseError."""
        self._pool.close()

    def _run(
        self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``work`` in the open unit of work, or alone: commit, then publish its events."""

        def bound(session: units.Session) -> T:
            return work(cast(Session, session), *args, **kwargs)  # built by ``session=Session``

        return self._units.run(bound)

    def _room_cache(self) -> RoomCache:
        """The rooms, loaded once on first use."""
        with self._rooms_lock:
            if self._rooms is None:
                self._rooms = self._run(world.load_room_cache)
            return self._rooms

    # --- players -------------------------------------------------------------------------

    def get_player(self, player_id: UUID | str) -> Player | None:
        """The player with ``player_id``, or None."""
        return self._run(players.by_id, rules.require_uuid(player_id, "player_id"))

    def get_player_by_name(self, name: str) -> Player | None:
        """The player named ``name`` (case-insensitive), or None."""
        return self._run(players.by_name, inputs.read_key(name, "name"))

    def get_player_by_user_id(self, user_id: UUID | str) -> Player | None:
        """The player of account ``user_id``, or None."""
        return self._run(players.by_user_id, rules.require_uuid(user_id, "user_id"))

    def save_player(self, player: Player) -> None:
        """Insert or update every column of ``player`` but ``created_at``."""
        self._run(players.upsert, [rules.validate_player(player)])

    def save_players(self, players: Sequence[Player]) -> None:
        """Save every player, all or nothing."""
        if isinstance(players, str | bytes) or not isinstance(players, Sequence):
            raise ValidationError("players must be a sequence of Player")
        self._run(upsert_players, [rules.validate_player(p) for p in players])

    def delete_player(self, player_id: UUID | str) -> None:
        """Delete a player; NotFoundError if there is none."""
        self._run(players.delete, rules.require_uuid(player_id, "player_id"))

    def list_players(self, limit: int = 100, offset: int = 0) -> list[Player]:
        """Players by name, a page at a time."""
        limit = inputs.require_limit(limit, "limit")
        return self._run(players.page, limit, inputs.require_limit(offset, "offset"))

    def get_players_in_room(self, room_id: str) -> list[Player]:
        """The players in ``room_id``, by name."""
        return self._run(players.in_room, inputs.read_key(room_id, "room_id"))

    def get_players_batch(self, player_ids: Sequence[UUID | str]) -> list[Player]:
        """The players asked for, in that order; missing ones and repeats skipped."""
        return self._run(players.batch, rules.require_ids(player_ids, "player_ids"))

    def update_player_last_active(
        self, player_id: UUID | str, last_active: datetime | None = None
    ) -> None:
        """Record activity at ``last_active`` (default now)."""
        player_uuid = rules.require_uuid(player_id, "player_id")
        when = inputs.optional_datetime(last_active, "last_active")
        self._run(players.touch, player_uuid, when)

    def validate_and_fix_player_room(self, player: Player) -> bool:
        """Move ``player`` (in memory) to a start room if its room is gone; True if moved."""
        if not isinstance(player, Player):
            raise ValidationError(f"expected a Player, got {type(player).__name__}")
        target = rules.fallback_room(player.current_room_id, self._room_cache())
        if target is None:
            return False
        player.current_room_id = target
        return True

    # --- rooms and professions -----------------------------------------------------------

    def get_room(self, room_id: str) -> Room | None:
        """The room with ``room_id``, from the cache, or None."""
        return self._room_cache().get(inputs.read_key(room_id, "room_id"))

    def list_rooms(self) -> list[Room]:
        """Every room, by id."""
        cache = self._room_cache()
        return [cache[room_id] for room_id in sorted(cache)]

    def get_all_professions(self) -> list[Profession]:
        """The available professions, by id."""
        return self._run(world.all_professions)

    def get_profession_by_id(self, profession_id: int) -> Profession | None:
        """The profession with ``profession_id``, or None."""
        return self._run(world.profession_by_id, rules.require_int(profession_id, "profession_id"))

    # --- health, experience, stats -------------------------------------------------------

    def damage_player(self, player: Player, amount: int, damage_type: str = "physical") -> int:
        """Take ``amount`` HP from ``player``; return (and set on it) the stored HP."""
        player_id = _player_id(player)
        delta = -rules.require_amount(amount)
        kind = rules.require_text(damage_type, "damage_type")
        change = self._run(vitals.change_health, player_id, delta, kind, "damage")
        player.stats.current_health = change.new_hp
        return change.new_hp

    def heal_player(self, player: Player, amount: int) -> int:
        """Give ``amount`` HP to ``player``; return (and set on it) the stored HP."""
        player_id = _player_id(player)
        delta = rules.require_amount(amount)
        change = self._run(vitals.change_health, player_id, delta, None, "heal")
        player.stats.current_health = change.new_hp
        return change.new_hp

    def update_player_health(self, player_id: UUID | str, delta: int, reason: str = "") -> int:
        """Apply a signed HP ``delta`` by id; return the stored HP."""
        player_uuid = rules.require_uuid(player_id, "player_id")
        amount = rules.require_int(delta, "delta")
        why = rules.require_text(reason, "reason")
        return self._run(vitals.change_health, player_uuid, amount, None, why).new_hp

    def gain_experience(self, player: Player, amount: int, source: str = "unknown") -> int:
        """Give ``amount`` XP to ``player``; return (and set on it) the stored XP."""
        player_id = _player_id(player)
        delta = rules.require_amount(amount)
        origin = rules.require_text(source, "source")
        change = self._run(vitals.change_xp, player_id, delta, origin)
        player.experience_points, player.level = change.new_xp, change.new_level
        return change.new_xp

    def update_player_xp(self, player_id: UUID | str, delta: int, reason: str = "") -> int:
        """Apply a signed XP ``delta`` by id; return the stored XP."""
        player_uuid = rules.require_uuid(player_id, "player_id")
        amount = rules.require_int(delta, "delta")
        why = rules.require_text(reason, "reason")
        return self._run(vitals.change_xp, player_uuid, amount, why).new_xp

    def update_player_stat_field(
        self, player_id: UUID | str, field_name: str, delta: int, reason: str = ""
    ) -> int:
        """Apply ``delta`` to one whitelisted stat; return its stored value."""
        name = rules.require_stat_field(field_name)
        player_uuid = rules.require_uuid(player_id, "player_id")
        amount = rules.require_int(delta, "delta")
        why = rules.require_text(reason, "reason")
        return self._run(vitals.change_stat, player_uuid, name, amount, why).new_value

    # --- containers ----------------------------------------------------------------------

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
    ) -> Container:
        """Create an empty container."""
        new = inputs.check_new_container(
            source_type,
            room_id=room_id,
            entity_id=entity_id,
            owner_id=owner_id,
            lock_state=lock_state,
            capacity_slots=capacity_slots,
            weight_limit=weight_limit,
            decay_at=decay_at,
            metadata=metadata,
            container_id=container_id,
        )
        return self._run(containers.create, new)

    def get_container(self, container_id: UUID | str) -> Container | None:
        """The container with ``container_id`` and its items, or None."""
        return self._run(containers.by_id, rules.require_uuid(container_id, "container_id"))

    def get_containers_by_room_id(self, room_id: str) -> list[Container]:
        """The containers in ``room_id``."""
        return self._run(containers.by_room, inputs.read_key(room_id, "room_id"))

    def get_containers_by_entity_id(self, entity_id: UUID | str) -> list[Container]:
        """The containers worn by ``entity_id``."""
        return self._run(containers.by_entity, rules.require_uuid(entity_id, "entity_id"))

    def update_container(
        self,
        container_id: UUID | str,
        *,
        lock_state: str | None = None,
        capacity_slots: int | None = None,
        decay_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container:
        """Change the given columns of a container; None leaves a column as it is."""
        container_uuid = rules.require_uuid(container_id, "container_id")
        changes = inputs.check_container_changes(
            lock_state=lock_state,
            capacity_slots=capacity_slots,
            decay_at=decay_at,
            metadata=metadata,
        )
        return self._run(containers.update, container_uuid, changes)

    def get_decayed_containers(self, now: datetime | None = None) -> list[Container]:
        """The containers decayed at ``now`` (default: the database's now)."""
        return self._run(containers.decayed, inputs.optional_datetime(now, "now"))

    def delete_container(self, container_id: UUID | str) -> None:
        """Delete a container; NotFoundError if there is none."""
        self._run(containers.delete, rules.require_uuid(container_id, "container_id"))

    def add_item_to_container(self, container_id: UUID | str, item_instance_id: str) -> Container:
        """Put an item in the container's lowest free slot."""
        container_uuid = rules.require_uuid(container_id, "container_id")
        item_id = rules.require_key(item_instance_id, "item_instance_id")
        return self._run(containers.add_item, container_uuid, item_id)

    def remove_item_from_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container:
        """Take an item out of a container."""
        container_uuid = rules.require_uuid(container_id, "container_id")
        item_id = rules.require_key(item_instance_id, "item_instance_id")
        return self._run(containers.remove_item, container_uuid, item_id)

    # --- items ---------------------------------------------------------------------------

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
    ) -> ItemInstance:
        """Create an item instance; a taken id is a ValidationError."""
        new = inputs.check_new_item(
            item_instance_id,
            prototype_id,
            owner_type=owner_type,
            owner_id=owner_id,
            location_context=location_context,
            quantity=quantity,
            condition=condition,
            custom_name=custom_name,
            metadata=metadata,
        )
        return self._run(items.create, new)

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
    ) -> ItemInstance:
        """The item instance with this id, created from these values if it does not exist."""
        new = inputs.check_new_item(
            item_instance_id,
            prototype_id,
            owner_type=owner_type,
            owner_id=owner_id,
            location_context=location_context,
            quantity=quantity,
            condition=condition,
            custom_name=custom_name,
            metadata=metadata,
        )
        return self._run(items.ensure, new)

    def get_item_instance(self, item_instance_id: str) -> ItemInstance | None:
        """The item instance with ``item_instance_id``, or None."""
        return self._run(items.by_id, inputs.read_key(item_instance_id, "item_instance_id"))

    def item_instance_exists(self, item_instance_id: str) -> bool:
        """Whether an item instance with ``item_instance_id`` exists."""
        return self._run(items.exists, inputs.read_key(item_instance_id, "item_instance_id"))

    def delete_item_instance(self, item_instance_id: str) -> None:
        """Delete an item instance; NotFoundError if there is none."""
        self._run(items.delete, rules.require_key(item_instance_id, "item_instance_id"))

    def list_item_instances_by_owner(self, owner_type: str, owner_id: str) -> list[ItemInstance]:
        """The item instances an owner holds."""
        kind = rules.require_choice(owner_type, rules.OWNER_TYPES, "owner_type")
        return self._run(items.by_owner, kind, inputs.read_key(owner_id, "owner_id"))


def _player_id(player: Player) -> UUID:
    if not isinstance(player, Player):
        raise ValidationError(f"expected a Player, got {type(player).__name__}")
    return rules.require_uuid(player.player_id, "player_id")


if TYPE_CHECKING:

    def _conforms(layer: PersistenceLayer) -> SyncPersistence:
        return layer
