"""Item instances: create, ensure, read, check, delete and list by owner."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from persistence import rules
from persistence.async_db import AsyncDatabase, statement
from persistence.errors import NotFoundError, ValidationError
from persistence.models import ItemInstance
from persistence.repositories import _base as check
from persistence.repositories._base import Repository
from persistence.rows import item_from_row

__all__ = ["ItemRepository"]

_FIELDS = (
    "item_instance_id prototype_id owner_type owner_id location_context quantity condition "
    "custom_name metadata"
).split()
_COLUMNS = ", ".join([*_FIELDS, "created_at"])
_INSERT = (
    f"INSERT INTO item_instances ({', '.join(_FIELDS)}) "
    f"VALUES ({', '.join(':' + f for f in _FIELDS)})"
)
INSERT = statement(f"{_INSERT} RETURNING {_COLUMNS}", *_FIELDS)
INSERT_NEW = statement(
    f"{_INSERT} ON CONFLICT (item_instance_id) DO NOTHING RETURNING {_COLUMNS}", *_FIELDS
)
BY_ID = statement(
    f"SELECT {_COLUMNS} FROM item_instances WHERE item_instance_id = :item_instance_id",
    "item_instance_id",
)
EXISTS = statement(
    "SELECT EXISTS (SELECT 1 FROM item_instances WHERE item_instance_id = :item_instance_id)",
    "item_instance_id",
)
DELETE = statement(
    "DELETE FROM item_instances WHERE item_instance_id = :item_instance_id "
    "RETURNING item_instance_id",
    "item_instance_id",
)
BY_OWNER = statement(
    f"SELECT {_COLUMNS} FROM item_instances WHERE owner_type = :owner_type "
    "AND owner_id = :owner_id ORDER BY item_instance_id",
    "owner_type",
    "owner_id",
)


def _item_args(
    item_instance_id: object, prototype_id: object, v: dict[str, Any]
) -> tuple[Any, ...]:
    owner_type = rules.require_choice(v["owner_type"], rules.OWNER_TYPES, "owner_type")
    given_owner = v["owner_id"]
    owner_id = check.optional_key(
        str(given_owner) if isinstance(given_owner, UUID) else given_owner, "owner_id"
    )
    if (owner_type == "none") != (owner_id is None):
        raise ValidationError("owner_id must be given exactly when owner_type is not 'none'")
    quantity = rules.require_int(v["quantity"], "quantity")
    if not 1 <= quantity <= rules.MAX_STACK_QUANTITY:
        raise ValidationError(f"quantity must be within 1..{rules.MAX_STACK_QUANTITY}")
    condition = None if v["condition"] is None else rules.require_int(v["condition"], "condition")
    if condition is not None and not 0 <= condition <= 100:
        raise ValidationError("condition must be within 0..100")
    return (
        rules.require_key(item_instance_id, "item_instance_id"),
        rules.require_key(prototype_id, "prototype_id"),
        owner_type,
        owner_id,
        check.optional_text(v["location_context"], "location_context", 100),
        quantity,
        condition,
        check.optional_text(v["custom_name"], "custom_name", 100),
        check.json_mapping({} if v["metadata"] is None else v["metadata"], "metadata"),
    )


class ItemRepository(Repository):
    """Item instance operations."""

    def __init__(self, *, database: AsyncDatabase | None = None) -> None:
        super().__init__(None, database)

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
    ) -> ItemInstance:
        """Create an item; ValidationError if the id is taken or the prototype unknown."""
        args = _item_args(item_instance_id, prototype_id, dict(locals()))

        async def op(conn: asyncpg.Connection) -> tuple[ItemInstance, list[object]]:
            return item_from_row(await conn.fetchrow(INSERT.sql, *args)), []

        return await self.database.write(op, None, single_statement=True)

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
    ) -> ItemInstance:
        """The existing item, unchanged, or a new one made from these values."""
        args = _item_args(item_instance_id, prototype_id, dict(locals()))

        async def op(conn: asyncpg.Connection) -> tuple[ItemInstance, list[object]]:
            row = await conn.fetchrow(INSERT_NEW.sql, *args)
            if row is None:
                row = await conn.fetchrow(BY_ID.sql, args[0])
            if row is None:
                raise NotFoundError(f"item instance {args[0]!r} vanished while being ensured")
            return item_from_row(row), []

        return await self.database.write(op, None)

    async def get_item_instance(self, item_instance_id: str) -> ItemInstance | None:
        """The item, or None."""
        key = check.read_key(item_instance_id, "item_instance_id")
        row = await self.database.fetchrow(BY_ID.sql, key)
        return None if row is None else item_from_row(row)

    async def item_instance_exists(self, item_instance_id: str) -> bool:
        """Whether the item exists."""
        key = check.read_key(item_instance_id, "item_instance_id")
        row = await self.database.fetchrow(EXISTS.sql, key)
        return bool(row and row[0])

    async def delete_item_instance(self, item_instance_id: str) -> None:
        """Delete the item (and its container slot); NotFoundError if there is none."""
        key = rules.require_key(item_instance_id, "item_instance_id")

        async def op(conn: asyncpg.Connection) -> tuple[None, list[object]]:
            if await conn.fetchrow(DELETE.sql, key) is None:
                raise NotFoundError(f"item instance {key!r} not found")
            return None, []

        await self.database.write(op, None, single_statement=True)

    async def list_item_instances_by_owner(
        self, owner_type: str, owner_id: str
    ) -> list[ItemInstance]:
        """The items of one owner, by id."""
        kind = rules.require_choice(owner_type, rules.OWNER_TYPES, "owner_type")
        key = check.read_key(owner_id, "owner_id")
        rows = await self.database.fetch(BY_OWNER.sql, kind, key)
        return [item_from_row(row) for row in rows]
