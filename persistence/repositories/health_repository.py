"""Health: damage, healing and signed changes, each one atomic UPDATE … RETURNING."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from persistence import rules
from persistence.async_db import AsyncDatabase, statement
from persistence.errors import NotFoundError
from persistence.events import EventBus
from persistence.models import Player
from persistence.repositories._base import Repository, clamp_delta, require_player

__all__ = ["HealthRepository"]

# The CTE locks the row and keeps the old value; SET recomputes from the row it updates, so
# concurrent writers queue on the lock and none of their changes is lost.
APPLY_HEALTH = statement(
    "WITH cur AS (SELECT player_id, (stats->>'current_health')::int AS old_hp FROM players "
    "WHERE player_id = :player_id FOR UPDATE) "
    "UPDATE players p SET stats = jsonb_set(p.stats, '{current_health}', to_jsonb("
    f"GREATEST({rules.HP_DEAD}, LEAST((p.stats->>'max_health')::bigint, "
    "(p.stats->>'current_health')::bigint + :delta)))) "
    "FROM cur WHERE p.player_id = cur.player_id "
    "RETURNING cur.old_hp, (p.stats->>'current_health')::int AS new_hp, "
    "(p.stats->>'max_health')::int AS max_hp",
    "player_id",
    "delta",
)


class HealthRepository(Repository):
    """Damage and healing, with HPChanged, dying and death events after commit."""

    def __init__(
        self, event_bus: EventBus | None = None, *, database: AsyncDatabase | None = None
    ) -> None:
        super().__init__(event_bus, database)

    async def damage_player(
        self, player: Player, amount: int, damage_type: str = "physical"
    ) -> int:
        """Apply ``-amount`` HP; returns the new HP, also set on ``player``."""
        require_player(player)
        amount = rules.require_amount(amount)
        damage_type = rules.require_text(damage_type, "damage_type")
        return await self._apply(player.player_id, -amount, damage_type, "damage", player)

    async def heal_player(self, player: Player, amount: int) -> int:
        """Apply ``+amount`` HP; returns the new HP, also set on ``player``."""
        require_player(player)
        amount = rules.require_amount(amount)
        return await self._apply(player.player_id, amount, None, "heal", player)

    async def update_player_health(
        self, player_id: UUID | str, delta: int, reason: str = ""
    ) -> int:
        """Apply a signed ``delta`` HP; returns the new HP."""
        pid = rules.require_uuid(player_id, "player_id")
        delta = rules.require_int(delta, "delta")
        reason = rules.require_text(reason, "reason")
        return await self._apply(pid, delta, None, reason, None)

    async def _apply(
        self,
        player_id: UUID | str,
        delta: int,
        damage_type: str | None,
        reason: str,
        player: Player | None,
    ) -> int:
        pid = rules.require_uuid(player_id, "player_id")
        bounded = clamp_delta(delta)

        async def op(conn: asyncpg.Connection) -> tuple[int, list[object]]:
            row = await conn.fetchrow(APPLY_HEALTH.sql, pid, bounded)
            if row is None:
                raise NotFoundError(f"player {pid} not found")
            old, new, max_hp = row
            if player is not None:
                player.stats.current_health = new
            return new, rules.health_events(pid, old, new, max_hp, damage_type, reason)

        return await self.database.write(op, self.event_bus, single_statement=True)
