"""A wrong write declaration is refused when the system opens, never a false divergence.

Each case below gave a false ``result_mismatch`` with a correct async path before the shadow
runner checked its declarations at install. Each is now a ``DeclarationError`` that names
the write and what is wrong, and the system does not open.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg2
import pytest

from dualpath import (
    AsyncUnits,
    DeclarationError,
    Declarations,
    Entity,
    RowGroup,
    SyncUnits,
    declare,
    open_system,
)
from examples.guild.declarations import GUILD, GUILD_ROWS
from examples.guild.legacy import GuildLegacy
from examples.guild.newpath import GuildAsync
from tests.examples.conftest import guild_settings

pytestmark = pytest.mark.integration

GET = declare("guild", "get_guild", "read", "guild_id", entity="guild")
LIST = declare("guild", "list_guilds", "read")


def with_deposit(**details: Any) -> Declarations:
    """The guild's declaration with ``deposit_gold`` declared by ``details``."""
    deposit = declare("guild", "deposit_gold", "write", "guild_id", **details)
    return dataclasses.replace(GUILD, operations=(GET, deposit, LIST))


def rows(table: str = "guilds", where: str = "guild_id = {key}::uuid") -> Entity:
    """The guild's rows, declared with ``table`` and ``where``."""
    return Entity("guild", (RowGroup(table, ("guild_id",), where),))


class NoTransaction:
    """The guild's legacy path without ``transaction()``."""

    def __init__(self, path: GuildLegacy) -> None:
        self.get_guild = path.get_guild
        self.deposit_gold = path.deposit_gold
        self.list_guilds = path.list_guilds


async def refusal(url: str, declarations: Declarations, *, bare: bool = False) -> str:
    """The ``DeclarationError`` message opening a system with ``declarations`` raises."""
    sync_units, async_units = SyncUnits(lambda: psycopg2.connect(url)), AsyncUnits(url)
    legacy: Any = GuildLegacy(sync_units)
    if bare:
        legacy = NoTransaction(legacy)
    try:
        with pytest.raises(DeclarationError) as raised:
            async with open_system(
                guild_settings(url), declarations=declarations, legacy=legacy,
                async_layer=GuildAsync(async_units),
            ):  # fmt: skip
                pytest.fail("the system opened")
    finally:
        sync_units.close()
        await async_units.close()
    return str(raised.value)


class TestRefusedAtInstall:
    """Every false-divergence case of a write declaration is a clear error at start-up."""

    async def test_a_missing_read_back(self, guild_database: str) -> None:
        message = await refusal(guild_database, with_deposit())
        assert "'deposit_gold' has a key ('guild_id') but no read-back" in message

    async def test_a_misspelt_read_back(self, guild_database: str) -> None:
        message = await refusal(guild_database, with_deposit(readback="get_gild", rows=rows()))
        assert "'get_gild' is not a declared operation (did you mean 'get_guild'?)" in message

    async def test_a_key_without_its_cast(self, guild_database: str) -> None:
        declared = with_deposit(readback="get_guild", rows=rows(where="guild_id = {key}"))
        message = await refusal(guild_database, declared)
        assert "cannot be captured" in message and "uuid = text" in message

    async def test_a_wrong_table(self, guild_database: str) -> None:
        declared = with_deposit(readback="get_guild", rows=rows(table="guild"))
        message = await refusal(guild_database, declared)
        assert "cannot be captured" in message and 'relation "guild" does not exist' in message

    async def test_a_path_without_transaction(self, guild_database: str) -> None:
        declared = with_deposit(readback="get_guild", rows=GUILD_ROWS)
        message = await refusal(guild_database, declared, bare=True)
        assert "the legacy path NoTransaction has no transaction()" in message

    async def test_every_problem_is_listed_at_once(self, guild_database: str) -> None:
        declared = with_deposit(readback="get_gild", rows=rows())
        message = await refusal(guild_database, declared, bare=True)
        assert "get_gild" in message and "no transaction()" in message

    async def test_the_correct_declaration_opens(self, guild_database: str) -> None:
        url = guild_database
        sync_units, async_units = SyncUnits(lambda: psycopg2.connect(url)), AsyncUnits(url)
        try:
            async with open_system(
                guild_settings(url), declarations=GUILD, legacy=GuildLegacy(sync_units),
                async_layer=GuildAsync(async_units),
            ) as system:  # fmt: skip
                assert system.declarations.domains == ("guild",)
        finally:
            sync_units.close()
            await async_units.close()
