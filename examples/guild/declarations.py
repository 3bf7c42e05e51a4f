"""The guild's declaration: three operations of one domain, and what its errors mean."""

from __future__ import annotations

from dualpath import Declarations, Entity, ErrorMeanings, RowGroup, declare
from examples.guild.errors import GuildNotFound, InvalidAmount

#: What a guild id names: its one ``guilds`` row (the key is text: cast it).
GUILD_ROWS = Entity("guild", (RowGroup("guilds", ("guild_id",), "guild_id = {key}::uuid"),))

GUILD = Declarations(
    (
        declare("guild", "get_guild", "read", "guild_id", entity="guild"),
        declare(
            "guild", "deposit_gold", "write", "guild_id", readback="get_guild", rows=GUILD_ROWS
        ),
        declare("guild", "list_guilds", "read"),
    ),
    domain_kinds={"guild": ("guild",)},
    errors=ErrorMeanings.of(refusals=(GuildNotFound, InvalidAmount)),
)
