"""Rows to models, shared by both paths so that equal data gives equal models.

Each function takes a mapping (a psycopg2 ``RealDictRow`` or an asyncpg ``Record``) whose JSONB
columns are already decoded and whose UUID columns are ``UUID``s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from persistence.models import Container, ItemInstance, Player, Profession, Room, Stats

Row = Mapping[str, Any]


def utc(value: datetime | None) -> datetime | None:
    """A timestamp in UTC (drivers differ in the offset they return)."""
    return value.astimezone(UTC) if value is not None else None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def player_from_row(row: Row) -> Player:
    """A ``players`` row as a Player."""
    stats = _json(row["stats"])
    return Player(
        player_id=row["player_id"],
        user_id=row["user_id"],
        name=row["name"],
        current_room_id=row["current_room_id"],
        profession_id=row["profession_id"],
        stats=Stats(**{k: stats[k] for k in Stats.__dataclass_fields__ if k in stats}),
        inventory=_json(row["inventory"]),
        equipped=_json(row["equipped"]),
        experience_points=row["experience_points"],
        level=row["level"],
        is_admin=row["is_admin"],
        created_at=utc(row["created_at"]),
        last_active=utc(row["last_active"]),
    )


def profession_from_row(row: Row) -> Profession:
    """A ``professions`` row as a Profession."""
    return Profession(
        profession_id=row["profession_id"],
        name=row["name"],
        description=row["description"],
        flavor_text=row["flavor_text"],
        stat_requirements=_json(row["stat_requirements"]),
        is_available=row["is_available"],
    )


def room_from_row(row: Row, exits: Mapping[str, str]) -> Room:
    """A ``rooms`` row and its exits as a Room."""
    return Room(
        room_id=row["room_id"],
        zone_id=row["zone_id"],
        name=row["name"],
        description=row["description"],
        environment=row["environment"],
        exits=dict(sorted(exits.items())),
    )


def container_from_row(row: Row, items: Sequence[str]) -> Container:
    """A ``containers`` row and its item ids, in slot order, as a Container."""
    return Container(
        container_id=row["container_id"],
        source_type=row["source_type"],
        lock_state=row["lock_state"],
        capacity_slots=row["capacity_slots"],
        owner_id=row["owner_id"],
        room_id=row["room_id"],
        entity_id=row["entity_id"],
        weight_limit=row["weight_limit"],
        decay_at=utc(row["decay_at"]),
        metadata=_json(row["metadata"]),
        items=list(items),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )


def item_from_row(row: Row) -> ItemInstance:
    """An ``item_instances`` row as an ItemInstance."""
    return ItemInstance(
        item_instance_id=row["item_instance_id"],
        prototype_id=row["prototype_id"],
        owner_type=row["owner_type"],
        owner_id=row["owner_id"],
        location_context=row["location_context"],
        quantity=row["quantity"],
        condition=row["condition"],
        custom_name=row["custom_name"],
        metadata=_json(row["metadata"]),
        created_at=utc(row["created_at"]),
    )
