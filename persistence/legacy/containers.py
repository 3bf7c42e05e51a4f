"""Container reads and writes for the legacy path: each function runs on one ``Session``.

Every write locks the container's row first, so adds, removals and capacity changes on one
container are serialised and the slot arithmetic cannot race.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg2.extras import Json

from persistence.errors import NotFoundError, ValidationError
from persistence.legacy.inputs import ContainerChanges, NewContainer
from persistence.legacy.session import Row, Session
from persistence.models import Container
from persistence.rows import container_from_row

__all__ = [
    "add_item",
    "by_entity",
    "by_id",
    "by_room",
    "create",
    "decayed",
    "delete",
    "first_free_slot",
    "remove_item",
    "update",
]

INSERT = """
INSERT INTO containers (container_id, source_type, owner_id, room_id, entity_id, lock_state,
                        capacity_slots, weight_limit, decay_at, metadata)
VALUES (%(container_id)s, %(source_type)s, %(owner_id)s, %(room_id)s, %(entity_id)s,
        %(lock_state)s, %(capacity_slots)s, %(weight_limit)s, %(decay_at)s, %(metadata)s)
RETURNING *
"""
UPDATE = """
UPDATE containers SET lock_state = COALESCE(%(lock_state)s, lock_state),
    capacity_slots = COALESCE(%(capacity_slots)s, capacity_slots),
    decay_at = COALESCE(%(decay_at)s, decay_at),
    metadata = COALESCE(%(metadata)s, metadata), updated_at = now()
WHERE container_id = %(container_id)s RETURNING *
"""
TOUCH = "UPDATE containers SET updated_at = now() WHERE container_id = %s RETURNING *"
SET_OWNER = "UPDATE item_instances SET owner_type = %s, owner_id = %s WHERE item_instance_id = %s"


def first_free_slot(taken: Iterable[int], capacity: int) -> int | None:
    """The lowest slot in ``0..capacity-1`` not in ``taken``, or None when full."""
    used = set(taken)
    return next((slot for slot in range(capacity) if slot not in used), None)


def create(s: Session, new: NewContainer) -> Container:
    """Insert a container; it starts empty."""
    params: dict[str, Any] = {
        name: getattr(new, name) for name in NewContainer.__dataclass_fields__
    }
    params["metadata"] = Json(new.metadata)
    return container_from_row(s.row(INSERT, params), [])


def by_id(s: Session, container_id: UUID) -> Container | None:
    """The container with ``container_id`` and its items, or None."""
    found = _with_items(
        s, s.all("SELECT * FROM containers WHERE container_id = %s", (container_id,))
    )
    return found[0] if found else None


def by_room(s: Session, room_id: str) -> list[Container]:
    """The containers in ``room_id``, by id."""
    rows = s.all("SELECT * FROM containers WHERE room_id = %s ORDER BY container_id", (room_id,))
    return _with_items(s, rows)


def by_entity(s: Session, entity_id: UUID) -> list[Container]:
    """The containers worn by ``entity_id``, by id."""
    query = "SELECT * FROM containers WHERE entity_id = %s ORDER BY container_id"
    return _with_items(s, s.all(query, (entity_id,)))


def decayed(s: Session, now: datetime | None) -> list[Container]:
    """The containers whose ``decay_at`` is at or before ``now``, oldest first."""
    query = (
        "SELECT * FROM containers WHERE decay_at <= COALESCE(%s::timestamptz, now())"
        " ORDER BY decay_at, container_id"
    )
    return _with_items(s, s.all(query, (now,)))


def update(s: Session, container_id: UUID, changes: ContainerChanges) -> Container:
    """Change a container's columns; capacity never drops below the items it holds."""
    held = _item_ids(s, _lock(s, container_id)["container_id"])
    if changes.capacity_slots is not None and changes.capacity_slots < len(held):
        raise ValidationError(
            f"capacity_slots {changes.capacity_slots} is below the {len(held)} items held"
        )
    params = {
        "container_id": container_id,
        "lock_state": changes.lock_state,
        "capacity_slots": changes.capacity_slots,
        "decay_at": changes.decay_at,
        "metadata": None if changes.metadata is None else Json(changes.metadata),
    }
    return container_from_row(s.row(UPDATE, params), held)


def delete(s: Session, container_id: UUID) -> None:
    """Delete a container (its contents rows go with it)."""
    query = "DELETE FROM containers WHERE container_id = %s RETURNING container_id"
    if s.one(query, (container_id,)) is None:
        raise NotFoundError(f"container {container_id} not found")


def add_item(s: Session, container_id: UUID, item_id: str) -> Container:
    """Put an item in the lowest free slot and make the container its owner."""
    container = _lock_unlocked(s, container_id)
    _lock_item(s, item_id)
    holder = s.one(
        "SELECT container_id FROM container_contents WHERE item_instance_id = %s", (item_id,)
    )
    if holder is not None:
        raise ValidationError(f"item {item_id} is already in container {holder['container_id']}")
    taken = s.all(
        "SELECT position FROM container_contents WHERE container_id = %s", (container_id,)
    )
    slot = first_free_slot((row["position"] for row in taken), container["capacity_slots"])
    if slot is None:
        raise ValidationError(f"container {container_id} is full")
    s.cursor.execute(
        "INSERT INTO container_contents (container_id, item_instance_id, position)"
        " VALUES (%s, %s, %s)",
        (container_id, item_id, slot),
    )
    s.cursor.execute(SET_OWNER, ("container", str(container_id), item_id))
    return _touched(s, container_id)


def remove_item(s: Session, container_id: UUID, item_id: str) -> Container:
    """Take an item out of a container and clear its owner."""
    _lock_unlocked(s, container_id)
    _lock_item(s, item_id)
    removed = s.one(
        "DELETE FROM container_contents WHERE container_id = %s AND item_instance_id = %s"
        " RETURNING item_instance_id",
        (container_id, item_id),
    )
    if removed is None:
        raise ValidationError(f"item {item_id} is not in container {container_id}")
    s.cursor.execute(SET_OWNER, ("none", None, item_id))
    return _touched(s, container_id)


def _lock(s: Session, container_id: UUID) -> Row:
    row = s.one("SELECT * FROM containers WHERE container_id = %s FOR UPDATE", (container_id,))
    if row is None:
        raise NotFoundError(f"container {container_id} not found")
    return row


def _lock_unlocked(s: Session, container_id: UUID) -> Row:
    row = _lock(s, container_id)
    if row["lock_state"] != "unlocked":
        raise ValidationError(f"container {container_id} is {row['lock_state']}")
    return row


def _lock_item(s: Session, item_id: str) -> None:
    query = "SELECT 1 FROM item_instances WHERE item_instance_id = %s FOR UPDATE"
    if s.one(query, (item_id,)) is None:
        raise NotFoundError(f"item instance {item_id} not found")


def _touched(s: Session, container_id: UUID) -> Container:
    return container_from_row(s.row(TOUCH, (container_id,)), _item_ids(s, container_id))


def _item_ids(s: Session, container_id: UUID) -> list[str]:
    rows = s.all(
        "SELECT item_instance_id FROM container_contents WHERE container_id = %s ORDER BY position",
        (container_id,),
    )
    return [row["item_instance_id"] for row in rows]


def _with_items(s: Session, rows: list[Row]) -> list[Container]:
    if not rows:
        return []
    contents = s.all(
        "SELECT container_id, item_instance_id FROM container_contents"
        " WHERE container_id = ANY(%s) ORDER BY position",
        ([row["container_id"] for row in rows],),
    )
    items: dict[UUID, list[str]] = defaultdict(list)
    for content in contents:
        items[content["container_id"]].append(content["item_instance_id"])
    return [container_from_row(row, items[row["container_id"]]) for row in rows]
