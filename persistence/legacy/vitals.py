"""Health, experience and stat writes: each one atomic SQL statement, clamped in SQL.

Each statement locks the player's row in a CTE, computes the new value from the row's current
value, and returns the old and new values, so concurrent writers never lose an update. Stat
field names reach SQL only as literals of a fixed per-field statement, built from
``rules.STAT_BOUNDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from psycopg2 import sql

from persistence import rules
from persistence.errors import NotFoundError
from persistence.legacy.session import Session

__all__ = ["HealthChange", "StatChange", "XPChange", "change_health", "change_stat", "change_xp"]

HEALTH = f"""
WITH old AS (
    SELECT player_id, (stats->>'current_health')::int AS hp, (stats->>'max_health')::int AS max_hp
    FROM players WHERE player_id = %(player_id)s FOR UPDATE
)
UPDATE players AS p
SET stats = jsonb_set(p.stats, '{{current_health}}',
    to_jsonb(GREATEST({rules.HP_DEAD}, LEAST(old.max_hp, old.hp + %(delta)s))::int))
FROM old WHERE p.player_id = old.player_id
RETURNING old.hp AS old_hp, (p.stats->>'current_health')::int AS new_hp, old.max_hp AS max_hp
"""

# Level = 1 + isqrt(xp // 100): integer division first, then an exact numeric square root.
XP = """
WITH old AS (
    SELECT player_id, experience_points AS xp, level
    FROM players WHERE player_id = %(player_id)s FOR UPDATE
), new AS (
    SELECT player_id, GREATEST(0, old.xp::bigint + %(delta)s) AS xp FROM old
)
UPDATE players AS p
SET experience_points = new.xp, level = 1 + floor(sqrt((new.xp / 100)::numeric))::int
FROM old, new WHERE p.player_id = old.player_id AND new.player_id = old.player_id
RETURNING old.xp AS old_xp, old.level AS old_level,
          p.experience_points AS new_xp, p.level AS new_level
"""

STAT_TEMPLATE = """
WITH old AS (
    SELECT player_id, (stats->>{key})::int AS value
    FROM players WHERE player_id = %(player_id)s FOR UPDATE
)
UPDATE players AS p
SET stats = jsonb_set(p.stats, ARRAY[{key}],
                      to_jsonb(GREATEST({low}, LEAST({high}, old.value + %(delta)s))::int))
FROM old WHERE p.player_id = old.player_id
RETURNING old.value AS old_value, (p.stats->>{key})::int AS new_value
"""


def _stat_statement(field_name: str, low: int, high: int) -> sql.Composed:
    return sql.SQL(STAT_TEMPLATE).format(
        key=sql.Literal(field_name), low=sql.Literal(low), high=sql.Literal(high)
    )


STAT_STATEMENTS: Mapping[str, sql.Composed] = {
    name: _stat_statement(name, low, high) for name, (low, high) in rules.STAT_BOUNDS.items()
}


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A player's HP before and after one write, and the max it was clamped to."""

    old_hp: int
    new_hp: int
    max_hp: int


@dataclass(frozen=True, slots=True)
class XPChange:
    """A player's XP and level before and after one write."""

    old_xp: int
    new_xp: int
    old_level: int
    new_level: int


@dataclass(frozen=True, slots=True)
class StatChange:
    """One stat's value before and after one write."""

    old_value: int
    new_value: int


def change_health(
    s: Session, player_id: UUID, delta: int, damage_type: str | None, reason: str
) -> HealthChange:
    """Apply ``delta`` to HP, clamped to [``rules.HP_DEAD``, max]; queue the health events."""
    row = _locked_update(s, HEALTH, player_id, delta)
    change = HealthChange(row["old_hp"], row["new_hp"], row["max_hp"])
    s.emit(
        rules.health_events(
            player_id, change.old_hp, change.new_hp, change.max_hp, damage_type, reason
        )
    )
    return change


def change_xp(s: Session, player_id: UUID, delta: int, source: str) -> XPChange:
    """Apply ``delta`` to XP, never below 0, and store the level it gives; queue the events."""
    row = _locked_update(s, XP, player_id, delta)
    change = XPChange(row["old_xp"], row["new_xp"], row["old_level"], row["new_level"])
    s.emit(
        rules.xp_events(
            player_id, change.old_xp, change.new_xp, change.old_level, change.new_level, source
        )
    )
    return change


def change_stat(
    s: Session, player_id: UUID, field_name: str, delta: int, reason: str
) -> StatChange:
    """Apply ``delta`` to a whitelisted stat, clamped to its bounds; queue the event."""
    statement = STAT_STATEMENTS[rules.require_stat_field(field_name)]
    row = _locked_update(s, statement, player_id, delta)
    change = StatChange(row["old_value"], row["new_value"])
    s.emit(rules.stat_events(player_id, field_name, change.old_value, change.new_value, reason))
    return change


def _locked_update(
    s: Session, statement: str | sql.Composed, player_id: UUID, delta: int
) -> dict[str, int]:
    row = s.one(statement, {"player_id": player_id, "delta": delta})
    if row is None:
        raise NotFoundError(f"player {player_id} not found")
    return row
