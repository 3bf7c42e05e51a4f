"""The guild's system: both paths over their units of work, opened by dualpath."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg2

from dualpath import AsyncUnits, Settings, SyncUnits, System, open_system
from examples.guild.declarations import GUILD
from examples.guild.legacy import GuildLegacy
from examples.guild.newpath import GuildAsync


@asynccontextmanager
async def open_guild_system(settings: Settings, *, bonus: int = 0) -> AsyncIterator[System]:
    """The guild's routed system over ``settings.database_url`` (``bonus``: a planted bug)."""
    url = settings.database_url
    if not url:
        raise ValueError("the guild's system needs DATABASE_URL")
    sync_units = SyncUnits(lambda: psycopg2.connect(url))
    async_units = AsyncUnits(url)
    legacy, new = GuildLegacy(sync_units), GuildAsync(async_units, bonus=bonus)
    try:
        async with open_system(
            settings, declarations=GUILD, legacy=legacy, async_layer=new
        ) as system:
            yield system
    finally:
        sync_units.close()
        await async_units.close()
