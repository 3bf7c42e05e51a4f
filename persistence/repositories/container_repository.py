"""Containers: create, read, update, decay and delete, and items in and out of slots."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from persistence import rules
from persistence.async_db import AsyncDatabase, statement
from persistence.errors import NotFoundError, ValidationError
from persistence.models import Container
from persistence.repositories import _base as check
from persistence.repositories._base import Repository
from persistence.rows import container_from_row

__all__ = ["ContainerRepository"]

_COLUMNS = (
    "container_id, source_type, owner_id, room_id, entity_id, lock_state, capacity_slots, "
    "weight_limit, decay_at, metadata, created_at, updated_at"
)
_SELECT = (
    f"SELECT {', '.join('c.' + c for c in _COLUMNS.split(', '))}, "
    "COALESCE((SELECT array_agg(cc.item_instance_id ORDER BY cc.position) "
    "FROM container_contents cc WHERE cc.container_id = c.container_id), '{}') AS items "
    "FROM containers c"
)
BY_ID = statement(f"{_SELECT} WHERE c.container_id = :container_id", "container_id")
BY_ROOM = statement(f"{_SELECT} WHERE c.room_id = :room_id ORDER BY c.container_id", "room_id")
BY_ENTITY = statement(
    f"{_SELECT} WHERE c.entity_id = :entity_id ORDER BY c.container_id", "entity_id"
)
DECAYED = statement(
    f"{_SELECT} WHERE c.decay_at <= COALESCE(:now, now()) ORDER BY c.decay_at, c.container_id",
    "now",
)
_CREATED = _COLUMNS.split(", ")[:10]
INSERT = statement(
    f"INSERT INTO containers ({', '.join(_CREATED)}) VALUES "
    f"({', '.join(':' + c for c in _CREATED)}) RETURNING {_COLUMNS}",
    *_CREATED,
)
LOCK = statement(
    "SELECT lock_state, capacity_slots FROM containers WHERE container_id = :container_id "
    "FOR UPDATE",
    "container_id",
)
# Read after LOCK, in a statement of its own, so that it sees writes committed while we waited.
SLOTS = statement(
    "SELECT array(SELECT position FROM container_contents WHERE container_id = :container_id) "
    "AS positions, (SELECT container_id FROM container_contents "
    "WHERE item_instance_id = :item_instance_id) AS holder, "
    "EXISTS (SELECT 1 FROM item_instances WHERE item_instance_id = :item_instance_id) AS found",
    "container_id",
    "item_instance_id",
)
PUT = statement(
    "WITH put AS (INSERT INTO container_contents (container_id, item_instance_id, position) "
    "VALUES (:container_id, :item_instance_id, :position) RETURNING item_instance_id), "
    "owned AS (UPDATE item_instances SET owner_type = 'container', owner_id = :owner_id "
    "WHERE item_instance_id IN (SELECT item_instance_id FROM put)) "
    "UPDATE containers SET updated_at = now() WHERE container_id = :container_id",
    "container_id",
    "item_instance_id",
    "position",
    "owner_id",
)
TAKE = statement(
    "WITH taken AS (DELETE FROM container_contents WHERE container_id = :container_id "
    "AND item_instance_id = :item_instance_id RETURNING item_instance_id), "
    "freed AS (UPDATE item_instances SET owner_type = 'none', owner_id = NULL "
    "WHERE item_instance_id IN (SELECT item_instance_id FROM taken)), "
    "touched AS (UPDATE containers SET updated_at = now() WHERE container_id = :container_id "
    "AND EXISTS (SELECT 1 FROM taken)) SELECT count(*) FROM taken",
    "container_id",
    "item_instance_id",
)
ITEM_EXISTS = statement(
    "SELECT EXISTS (SELECT 1 FROM item_instances WHERE item_instance_id = :item_instance_id)",
    "item_instance_id",
)
COUNT = statement(
    "SELECT count(*) FROM container_contents WHERE container_id = :container_id", "container_id"
)
UPDATE = statement(
    "UPDATE containers SET lock_state = COALESCE(:lock_state, lock_state), "
    "capacity_slots = COALESCE(:capacity_slots, capacity_slots), "
    "decay_at = COALESCE(:decay_at, decay_at), metadata = COALESCE(:metadata, metadata), "
    "updated_at = now() WHERE container_id = :container_id",
    "lock_state",
    "capacity_slots",
    "decay_at",
    "metadata",
    "container_id",
)
DELETE = statement(
    "DELETE FROM containers WHERE container_id = :container_id RETURNING container_id",
    "container_id",
)


def _container(row: asyncpg.Record) -> Container:
    return container_from_row(row, row["items"])


def _creation_args(source_type: object, values: dict[str, Any]) -> tuple[Any, ...]:
    kind = rules.require_choice(source_type, rules.SOURCE_TYPES, "source_type")
    room_id = check.optional_key(values["room_id"], "room_id")
    entity_id = check.optional_uuid(values["entity_id"], "entity_id")
    if kind == "environment" and room_id is None:
        raise ValidationError("an environment container needs a room_id")
    if kind == "equipment" and entity_id is None:
        raise ValidationError("an equipment container needs an entity_id")
    given_id = values["container_id"]
    return (
        uuid.uuid4() if given_id is None else rules.require_uuid(given_id, "container_id"),
        kind,
        check.optional_uuid(values["owner_id"], "owner_id"),
        room_id,
        entity_id,
        rules.require_choice(values["lock_state"], rules.LOCK_STATES, "lock_state"),
        rules.require_capacity(values["capacity_slots"]),
        check.optional_decimal(values["weight_limit"], "weight_limit"),
        check.optional_datetime(values["decay_at"], "decay_at"),
        check.json_mapping({} if values["metadata"] is None else values["metadata"], "metadata"),
    )


class ContainerRepository(Repository):
    """Container CRUD; items fill the lowest free slot and are owned by their container."""

    def __init__(self, *, database: AsyncDatabase | None = None) -> None:
        super().__init__(None, database)

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
    ) -> Container:
        """Create an empty container."""
        args = _creation_args(source_type, dict(locals()))

        async def op(conn: asyncpg.Connection) -> tuple[Container, list[object]]:
            return container_from_row(await conn.fetchrow(INSERT.sql, *args), []), []

        return await self.database.write(op, None, single_statement=True)

    async def get_container(self, container_id: UUID | str) -> Container | None:
        """The container with its items, or None."""
        cid = rules.require_uuid(container_id, "container_id")
        row = await self.database.fetchrow(BY_ID.sql, cid)
        return None if row is None else _container(row)

    async def get_containers_by_room_id(self, room_id: str) -> list[Container]:
        """The containers in a room, by id."""
        key = check.read_key(room_id, "room_id")
        return [_container(r) for r in await self.database.fetch(BY_ROOM.sql, key)]

    async def get_containers_by_entity_id(self, entity_id: UUID | str) -> list[Container]:
        """The containers an entity wears, by id."""
        eid = rules.require_uuid(entity_id, "entity_id")
        return [_container(r) for r in await self.database.fetch(BY_ENTITY.sql, eid)]

    async def get_decayed_containers(self, now: datetime | None = None) -> list[Container]:
        """Containers whose ``decay_at`` is at or before ``now``, by decay time then id."""
        moment = check.optional_datetime(now, "now")
        return [_container(r) for r in await self.database.fetch(DECAYED.sql, moment)]

    async def update_container(
        self,
        container_id: UUID | str,
        *,
        lock_state: str | None = None,
        capacity_slots: int | None = None,
        decay_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container:
        """Change the given fields; capacity cannot go below the number of items held."""
        cid = rules.require_uuid(container_id, "container_id")
        args = (
            None
            if lock_state is None
            else rules.require_choice(lock_state, rules.LOCK_STATES, "lock_state"),
            None if capacity_slots is None else rules.require_capacity(capacity_slots),
            check.optional_datetime(decay_at, "decay_at"),
            None if metadata is None else check.json_mapping(metadata, "metadata"),
            cid,
        )

        async def op(conn: asyncpg.Connection) -> tuple[Container, list[object]]:
            await _lock(conn, cid)
            held = await conn.fetchval(COUNT.sql, cid)
            if args[1] is not None and args[1] < held:
                raise ValidationError(f"capacity_slots {args[1]} is below the {held} items held")
            await conn.execute(UPDATE.sql, *args)
            return _container(await conn.fetchrow(BY_ID.sql, cid)), []

        return await self.database.write(op, None)

    async def delete_container(self, container_id: UUID | str) -> None:
        """Delete the container and its slots; NotFoundError if there is none."""
        cid = rules.require_uuid(container_id, "container_id")

        async def op(conn: asyncpg.Connection) -> tuple[None, list[object]]:
            if await conn.fetchrow(DELETE.sql, cid) is None:
                raise NotFoundError(f"container {cid} not found")
            return None, []

        await self.database.write(op, None, single_statement=True)

    async def add_item_to_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container:
        """Put the item in the lowest free slot; the container becomes its owner."""
        cid = rules.require_uuid(container_id, "container_id")
        item = rules.require_key(item_instance_id, "item_instance_id")

        async def op(conn: asyncpg.Connection) -> tuple[Container, list[object]]:
            lock_state, capacity = await _lock(conn, cid)
            slots = await conn.fetchrow(SLOTS.sql, cid, item)
            position = _free_slot(cid, item, lock_state, capacity, slots)
            await conn.execute(PUT.sql, cid, item, position, str(cid))
            return _container(await conn.fetchrow(BY_ID.sql, cid)), []

        return await self.database.write(op, None)

    async def remove_item_from_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container:
        """Take the item out of its slot; it is then owned by nobody."""
        cid = rules.require_uuid(container_id, "container_id")
        item = rules.require_key(item_instance_id, "item_instance_id")

        async def op(conn: asyncpg.Connection) -> tuple[Container, list[object]]:
            lock_state, _ = await _lock(conn, cid)
            if lock_state != "unlocked":
                raise ValidationError(f"container {cid} is {lock_state}")
            if not await conn.fetchval(TAKE.sql, cid, item):
                await _require_item(conn, item)
                raise ValidationError(f"item {item!r} is not in container {cid}")
            return _container(await conn.fetchrow(BY_ID.sql, cid)), []

        return await self.database.write(op, None)


async def _lock(conn: asyncpg.Connection, cid: UUID) -> tuple[str, int]:
    row = await conn.fetchrow(LOCK.sql, cid)
    if row is None:
        raise NotFoundError(f"container {cid} not found")
    return row["lock_state"], row["capacity_slots"]


async def _require_item(conn: asyncpg.Connection, item: str) -> None:
    if not await conn.fetchval(ITEM_EXISTS.sql, item):
        raise NotFoundError(f"item instance {item!r} not found")


def _free_slot(cid: UUID, item: str, lock_state: str, capacity: int, slots: asyncpg.Record) -> int:
    """The lowest free slot, after the rules that refuse an add."""
    if lock_state != "unlocked":
        raise ValidationError(f"container {cid} is {lock_state}")
    if not slots["found"]:
        raise NotFoundError(f"item instance {item!r} not found")
    if slots["holder"] is not None:
        raise ValidationError(f"item {item!r} is already in container {slots['holder']}")
    taken = set(slots["positions"])
    if len(taken) >= capacity:
        raise ValidationError(f"container {cid} is full ({capacity} slots)")
    return min(set(range(capacity)) - taken)
