"""Experience and stats: XP with its level, and whitelisted stat fields, each one atomic UPDATE."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from persistence import rules
from persistence.async_db import AsyncDatabase, Statement, statement
from persistence.errors import NotFoundError
from persistence.events import EventBus
from persistence.models import Player
from persistence.repositories._base import Repository, clamp_delta, require_player

__all__ = ["ExperienceRepository"]

# level = 1 + isqrt(xp // 100): xp // 100 < 2**31 / 100, where float8 sqrt is exact enough.
_NEW_XP = "GREATEST(0, p.experience_points::bigint + :delta)"
APPLY_XP = statement(
    "WITH cur AS (SELECT player_id, experience_points, level FROM players "
    "WHERE player_id = :player_id FOR UPDATE) "
    f"UPDATE players p SET experience_points = {_NEW_XP}, "
    f"level = 1 + floor(sqrt(({_NEW_XP} / {rules.XP_PER_LEVEL_UNIT})::float8))::int "
    "FROM cur WHERE p.player_id = cur.player_id "
    "RETURNING cur.experience_points AS old_xp, cur.level AS old_level, "
    "p.experience_points AS new_xp, p.level AS new_level",
    "player_id",
    "delta",
)


def _stat_statement(field: str) -> Statement:
    """The fixed statement for one whitelisted field (names come from ``rules.STAT_BOUNDS``)."""
    low, high = rules.STAT_BOUNDS[field]
    return statement(
        f"WITH cur AS (SELECT player_id, (stats->>'{field}')::int AS old_value FROM players "
        "WHERE player_id = :player_id FOR UPDATE) "
        f"UPDATE players p SET stats = jsonb_set(p.stats, '{{{field}}}', to_jsonb("
        f"GREATEST({low}, LEAST({high}, (p.stats->>'{field}')::bigint + :delta)))) "
        "FROM cur WHERE p.player_id = cur.player_id "
        f"RETURNING cur.old_value, (p.stats->>'{field}')::int AS new_value",
        "player_id",
        "delta",
    )


APPLY_STAT = {field: _stat_statement(field) for field in rules.STAT_BOUNDS}


class ExperienceRepository(Repository):
    """XP (level follows in the same statement) and stat fields, with events after commit."""

    def __init__(
        self, event_bus: EventBus | None = None, *, database: AsyncDatabase | None = None
    ) -> None:
        super().__init__(event_bus, database)

    async def gain_experience(self, player: Player, amount: int, source: str = "unknown") -> int:
        """Add ``amount`` XP; returns the new XP, also set (with the level) on ``player``."""
        require_player(player)
        amount = rules.require_amount(amount)
        source = rules.require_text(source, "source")
        return await self._apply_xp(player.player_id, amount, source, player)

    async def update_player_xp(self, player_id: UUID | str, delta: int, reason: str = "") -> int:
        """Apply a signed ``delta`` XP (never below 0); returns the new XP."""
        pid = rules.require_uuid(player_id, "player_id")
        delta = rules.require_int(delta, "delta")
        reason = rules.require_text(reason, "reason")
        return await self._apply_xp(pid, delta, reason, None)

    async def _apply_xp(
        self, player_id: UUID | str, delta: int, source: str, player: Player | None
    ) -> int:
        pid = rules.require_uuid(player_id, "player_id")
        bounded = clamp_delta(delta)

        async def op(conn: asyncpg.Connection) -> tuple[int, list[object]]:
            row = await conn.fetchrow(APPLY_XP.sql, pid, bounded)
            if row is None:
                raise NotFoundError(f"player {pid} not found")
            old_xp, old_level, new_xp, new_level = row
            if player is not None:
                player.experience_points, player.level = new_xp, new_level
            return new_xp, rules.xp_events(pid, old_xp, new_xp, old_level, new_level, source)

        return await self.database.write(op, self.event_bus, single_statement=True)

    async def update_player_stat_field(
        self, player_id: UUID | str, field_name: str, delta: int, reason: str = ""
    ) -> int:
        """Apply ``delta`` to one whitelisted stat, clamped to its bounds; returns the new value."""
        pid = rules.require_uuid(player_id, "player_id")
        field = rules.require_stat_field(field_name)
        bounded = clamp_delta(rules.require_int(delta, "delta"))
        reason = rules.require_text(reason, "reason")
        sql = APPLY_STAT[field].sql

        async def op(conn: asyncpg.Connection) -> tuple[int, list[object]]:
            row = await conn.fetchrow(sql, pid, bounded)
            if row is None:
                raise NotFoundError(f"player {pid} not found")
            old, new = row
            return new, rules.stat_events(pid, field, old, new, reason)

        return await self.database.write(op, self.event_bus, single_statement=True)
