"""The static world for the legacy path: the room cache and the professions."""

from __future__ import annotations

from collections import defaultdict

from persistence.legacy.session import Session
from persistence.models import Profession, RoomCache
from persistence.rows import profession_from_row, room_from_row

__all__ = ["all_professions", "load_room_cache", "profession_by_id"]


def load_room_cache(s: Session) -> RoomCache:
    """Every room with its exits, and each zone's start room."""
    exits: dict[str, dict[str, str]] = defaultdict(dict)
    for row in s.all("SELECT room_id, direction, target_room_id FROM room_exits"):
        exits[row["room_id"]][row["direction"]] = row["target_room_id"]
    cache = RoomCache()
    for row in s.all("SELECT * FROM rooms ORDER BY room_id"):
        cache[row["room_id"]] = room_from_row(row, exits.get(row["room_id"], {}))
    zones = s.all("SELECT zone_id, start_room_id FROM zones WHERE start_room_id IS NOT NULL")
    cache.zone_start_rooms = {row["zone_id"]: row["start_room_id"] for row in zones}
    cache.loaded = True
    return cache


def all_professions(s: Session) -> list[Profession]:
    """The available professions, by id."""
    rows = s.all("SELECT * FROM professions WHERE is_available ORDER BY profession_id")
    return [profession_from_row(row) for row in rows]


def profession_by_id(s: Session, profession_id: int) -> Profession | None:
    """The profession with ``profession_id``, available or not, or None."""
    row = s.one("SELECT * FROM professions WHERE profession_id = %s", (profession_id,))
    return profession_from_row(row) if row is not None else None
