"""The legacy path: blocking psycopg2, each call alone or inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dualpath import Session, SyncUnits
from examples.guild.errors import GuildNotFound, InvalidAmount
from examples.guild.schema import Guild, guild_of

_COLUMNS = "guild_id, name, gold"


class GuildLegacy:
    """``get_guild``, ``deposit_gold`` and ``list_guilds`` over psycopg2."""

    def __init__(self, units: SyncUnits) -> None:
        self._units = units

    @contextmanager
    def transaction(self) -> Iterator[object]:
        """A unit of work: calls inside it join it; it rolls back unless committed."""
        with self._units.transaction() as unit:
            yield unit

    def get_guild(self, guild_id: str) -> Guild | None:
        """The guild with ``guild_id``, or None."""

        def work(session: Session) -> Guild | None:
            row = session.one(
                f"SELECT {_COLUMNS} FROM guilds WHERE guild_id = %s::uuid", (guild_id,)
            )
            return guild_of(row) if row is not None else None

        return self._units.run(work)

    def deposit_gold(self, guild_id: str, amount: int) -> Guild:
        """Add ``amount`` gold to the guild's treasury; the guild as it is after."""
        if not isinstance(amount, int) or amount <= 0:
            raise InvalidAmount(f"a deposit must be a positive whole number, not {amount!r}")

        def work(session: Session) -> Guild:
            row = session.one(
                f"UPDATE guilds SET gold = gold + %s WHERE guild_id = %s::uuid"
                f" RETURNING {_COLUMNS}",
                (amount, guild_id),
            )
            if row is None:
                raise GuildNotFound(guild_id)
            return guild_of(row)

        return self._units.run(work)

    def list_guilds(self) -> list[Guild]:
        """Every guild, by name."""
        return self._units.run(
            lambda session: [
                guild_of(r) for r in session.all(f"SELECT {_COLUMNS} FROM guilds ORDER BY name")
            ]
        )
