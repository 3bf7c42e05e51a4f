"""The async path: asyncpg, each call alone or inside the caller's unit of work.

The key is cast by the server (``$1::text::uuid``), not encoded by asyncpg, so a malformed id
is PostgreSQL's ``22P02`` on this path as on the legacy one, and the two compare alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dualpath import AsyncUnits
from examples.guild.errors import GuildNotFound, InvalidAmount
from examples.guild.schema import Guild, guild_of

_COLUMNS = "guild_id, name, gold"


class GuildAsync:
    """``get_guild``, ``deposit_gold`` and ``list_guilds`` over asyncpg.

    ``bonus`` is a planted bug for the example's tests: each deposit adds that much more.
    """

    def __init__(self, units: AsyncUnits, *, bonus: int = 0) -> None:
        self._units = units
        self._bonus = bonus

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[object]:
        """A unit of work: calls inside it join it; it rolls back unless committed."""
        async with self._units.transaction() as unit:
            yield unit

    async def close(self) -> None:
        """Close this loop's pool (the router calls it on its loop thread when it closes)."""
        await self._units.close()

    async def get_guild(self, guild_id: str) -> Guild | None:
        """The guild with ``guild_id``, or None."""

        async def work(conn: Any) -> tuple[Guild | None, list[object]]:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM guilds WHERE guild_id = $1::text::uuid", guild_id
            )
            return (guild_of(dict(row)) if row is not None else None), []

        return await self._units.run(work)

    async def deposit_gold(self, guild_id: str, amount: int) -> Guild:
        """Add ``amount`` gold to the guild's treasury; the guild as it is after."""
        if not isinstance(amount, int) or amount <= 0:
            raise InvalidAmount(f"a deposit must be a positive whole number, not {amount!r}")

        async def work(conn: Any) -> tuple[Guild, list[object]]:
            row = await conn.fetchrow(
                f"UPDATE guilds SET gold = gold + $1 WHERE guild_id = $2::text::uuid"
                f" RETURNING {_COLUMNS}",
                amount + self._bonus,
                guild_id,
            )
            if row is None:
                raise GuildNotFound(guild_id)
            return guild_of(dict(row)), []

        return await self._units.run(work)

    async def list_guilds(self) -> list[Guild]:
        """Every guild, by name."""

        async def work(conn: Any) -> tuple[list[Guild], list[object]]:
            rows = await conn.fetch(f"SELECT {_COLUMNS} FROM guilds ORDER BY name")
            return [guild_of(dict(r)) for r in rows], []

        return await self._units.run(work)
