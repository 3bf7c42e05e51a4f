"""Player reads and writes for the legacy path: each function runs on one ``Session``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg2.extras import Json

from persistence import rules
from persistence.errors import NotFoundError
from persistence.legacy.session import Session
from persistence.models import Player
from persistence.rows import player_from_row

ORDER = " ORDER BY lower(name), player_id"
UPSERT = """
INSERT INTO players (player_id, user_id, name, profession_id, current_room_id, stats,
                     inventory, equipped, experience_points, level, is_admin, last_active)
VALUES (%(player_id)s, %(user_id)s, %(name)s, %(profession_id)s, %(current_room_id)s,
        %(stats)s, %(inventory)s, %(equipped)s, %(experience_points)s, %(level)s,
        %(is_admin)s, COALESCE(%(last_active)s, now()))
ON CONFLICT (player_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, name = EXCLUDED.name,
    profession_id = EXCLUDED.profession_id, current_room_id = EXCLUDED.current_room_id,
    stats = EXCLUDED.stats, inventory = EXCLUDED.inventory, equipped = EXCLUDED.equipped,
    experience_points = EXCLUDED.experience_points, level = EXCLUDED.level,
    is_admin = EXCLUDED.is_admin, last_active = EXCLUDED.last_active
"""


def by_id(s: Session, player_id: UUID) -> Player | None:
    """The player with ``player_id``, or None."""
    return _first(s, "SELECT * FROM players WHERE player_id = %s", player_id)


def by_name(s: Session, name: str) -> Player | None:
    """The player named ``name``, whatever its case, or None."""
    return _first(s, "SELECT * FROM players WHERE lower(name) = lower(%s)", name)


def by_user_id(s: Session, user_id: UUID) -> Player | None:
    """The player of account ``user_id``, or None."""
    return _first(s, "SELECT * FROM players WHERE user_id = %s", user_id)


def page(s: Session, limit: int, offset: int) -> list[Player]:
    """Players in name order, ``limit`` of them after skipping ``offset``."""
    rows = s.all("SELECT * FROM players" + ORDER + " LIMIT %s OFFSET %s", (limit, offset))
    return [player_from_row(row) for row in rows]


def in_room(s: Session, room_id: str) -> list[Player]:
    """Players whose current room is ``room_id``, in name order."""
    rows = s.all("SELECT * FROM players WHERE current_room_id = %s" + ORDER, (room_id,))
    return [player_from_row(row) for row in rows]


def batch(s: Session, player_ids: Sequence[UUID]) -> list[Player]:
    """Players in the order asked for; missing ids and repeats skipped."""
    if not player_ids:
        return []
    rows = s.all("SELECT * FROM players WHERE player_id = ANY(%s)", (list(set(player_ids)),))
    found = {row["player_id"]: player_from_row(row) for row in rows}
    ordered: dict[UUID, Player] = {}
    for player_id in player_ids:
        if player_id in found and player_id not in ordered:
            ordered[player_id] = found[player_id]
    return list(ordered.values())


def upsert(s: Session, players: Sequence[Player]) -> None:
    """Insert or update every column but ``created_at`` of each player."""
    for player in players:
        s.cursor.execute(UPSERT, player_params(player))


def delete(s: Session, player_id: UUID) -> None:
    """Delete the player; NotFoundError if there is none."""
    if s.one("DELETE FROM players WHERE player_id = %s RETURNING player_id", (player_id,)) is None:
        raise NotFoundError(f"player {player_id} not found")


def touch(s: Session, player_id: UUID, last_active: datetime | None) -> None:
    """Set ``last_active`` (now if None); NotFoundError if there is no such player."""
    row = s.one(
        "UPDATE players SET last_active = COALESCE(%s, now()) WHERE player_id = %s"
        " RETURNING player_id",
        (last_active, player_id),
    )
    if row is None:
        raise NotFoundError(f"player {player_id} not found")


def player_params(player: Player) -> dict[str, Any]:
    """The upsert parameters of a validated player."""
    return {
        "player_id": rules.require_uuid(player.player_id, "player_id"),
        "user_id": rules.require_uuid(player.user_id, "user_id"),
        "name": player.name,
        "profession_id": player.profession_id,
        "current_room_id": player.current_room_id,
        "stats": Json(player.stats.to_dict()),
        "inventory": Json(player.inventory),
        "equipped": Json(player.equipped),
        "experience_points": player.experience_points,
        "level": player.level,
        "is_admin": bool(player.is_admin),
        "last_active": rules.optional_datetime(player.last_active, "last_active"),
    }


def _first(s: Session, query: str, value: object) -> Player | None:
    row = s.one(query, (value,))
    return player_from_row(row) if row is not None else None
