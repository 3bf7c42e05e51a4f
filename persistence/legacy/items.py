"""Item instance reads and writes for the legacy path: each function runs on one ``Session``."""

from __future__ import annotations

from typing import Any

from psycopg2.extras import Json

from persistence.errors import NotFoundError
from persistence.legacy.inputs import NewItem
from persistence.legacy.session import Session
from persistence.models import ItemInstance
from persistence.rows import item_from_row

__all__ = ["by_id", "by_owner", "create", "delete", "ensure", "exists"]

INSERT = """
INSERT INTO item_instances (item_instance_id, prototype_id, owner_type, owner_id,
                            location_context, quantity, condition, custom_name, metadata)
VALUES (%(item_instance_id)s, %(prototype_id)s, %(owner_type)s, %(owner_id)s,
        %(location_context)s, %(quantity)s, %(condition)s, %(custom_name)s, %(metadata)s)
"""


def create(s: Session, new: NewItem) -> ItemInstance:
    """Insert an item instance; a taken id is a ValidationError."""
    return item_from_row(s.row(INSERT + " RETURNING *", _params(new)))


def ensure(s: Session, new: NewItem) -> ItemInstance:
    """Insert an item instance unless one with its id exists; return the stored one."""
    row = s.one(INSERT + " ON CONFLICT (item_instance_id) DO NOTHING RETURNING *", _params(new))
    if row is None:
        row = s.row(
            "SELECT * FROM item_instances WHERE item_instance_id = %s", (new.item_instance_id,)
        )
    return item_from_row(row)


def by_id(s: Session, item_id: str) -> ItemInstance | None:
    """The item instance with ``item_id``, or None."""
    row = s.one("SELECT * FROM item_instances WHERE item_instance_id = %s", (item_id,))
    return item_from_row(row) if row is not None else None


def exists(s: Session, item_id: str) -> bool:
    """Whether an item instance with ``item_id`` exists."""
    return s.one("SELECT 1 FROM item_instances WHERE item_instance_id = %s", (item_id,)) is not None


def delete(s: Session, item_id: str) -> None:
    """Delete an item instance (and take it out of its container)."""
    query = "DELETE FROM item_instances WHERE item_instance_id = %s RETURNING item_instance_id"
    if s.one(query, (item_id,)) is None:
        raise NotFoundError(f"item instance {item_id} not found")


def by_owner(s: Session, owner_type: str, owner_id: str) -> list[ItemInstance]:
    """The item instances an owner holds, by id."""
    rows = s.all(
        "SELECT * FROM item_instances WHERE owner_type = %s AND owner_id = %s"
        " ORDER BY item_instance_id",
        (owner_type, owner_id),
    )
    return [item_from_row(row) for row in rows]


def _params(new: NewItem) -> dict[str, Any]:
    params: dict[str, Any] = {name: getattr(new, name) for name in NewItem.__dataclass_fields__}
    params["metadata"] = Json(new.metadata)
    return params
