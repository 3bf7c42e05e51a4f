"""The guild example's database: dualpath's own tables only, and the guild's table.

It is installed the way another team would: ``upgrade(dualpath_only=True)`` on an empty
database, then the team's own schema.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg2
import pytest

from dualpath import Settings, System
from examples.guild.schema import SCHEMA
from examples.guild.system import open_guild_system
from tests.conftest import create_database, drop_database

#: The guilds each test starts with: id → gold.
STARTING_GOLD = 1000
GUILDS = 5


@pytest.fixture(scope="package")
def guild_database() -> Iterator[str]:
    """An empty database with dualpath's tables (``--dualpath-only``) and ``guilds``."""
    from persistence.migrate import upgrade

    url = create_database("dualpath_guild")
    try:
        upgrade(url, dualpath_only=True)
        execute(url, SCHEMA)
        yield url
    finally:
        drop_database(url)


def execute(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement on ``url`` (committed); its rows, if it returns any."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@pytest.fixture
def guilds(guild_database: str) -> list[str]:
    """``GUILDS`` guilds with ``STARTING_GOLD`` each, the divergence store and flags emptied."""
    execute(
        guild_database,
        "TRUNCATE guilds, divergence_exemplars, divergence_groups, shadow_rollup_minute,"
        " flags, flag_audit, flag_overrides",
    )
    ids = [str(uuid.uuid4()) for _ in range(GUILDS)]
    for number, guild_id in enumerate(ids):
        execute(
            guild_database,
            "INSERT INTO guilds (guild_id, name, gold) VALUES (%s, %s, %s)",
            (guild_id, f"guild {number}", STARTING_GOLD),
        )
    return ids


def guild_settings(url: str, **overrides: Any) -> Settings:
    """Settings over ``url``: the postgres flag store, no guard (a test sets the modes)."""
    values: dict[str, Any] = {
        "DATABASE_URL": url,
        "flag_provider": "postgres",
        "guard_enabled": False,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def system(guild_database: str, guilds: list[str]) -> AsyncIterator[System]:
    """The guild's system over its database."""
    async with open_guild_system(guild_settings(guild_database)) as opened:
        yield opened


def gold_of(url: str, guild_id: str) -> int:
    """The gold the database holds for one guild."""
    return int(execute(url, "SELECT gold FROM guilds WHERE guild_id = %s", (guild_id,))[0][0])
