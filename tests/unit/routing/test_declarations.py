"""A team's declaration: its domains, its registry and what the shadow runner derives from it."""

from __future__ import annotations

import pytest

from routing.declarations import Declarations, declare
from routing.shadowing import Entity, RowGroup
from units import UnitAlreadyOpen

pytestmark = pytest.mark.unit

ROWS = Entity("guild", (RowGroup("guilds", ("guild_id",), "guild_id = {key}::uuid"),))
GUILD = (
    declare("guild", "get_guild", "read", "guild_id", entity="guild"),
    declare("guild", "deposit_gold", "write", "guild_id", readback="get_guild", rows=ROWS),
    declare("bank", "list_banks", "read"),
)


class TestDeclarations:
    """Everything routing needs comes from the rows; a clash is refused when declared."""

    def test_domains_in_declaration_order(self) -> None:
        assert Declarations(GUILD).domains == ("guild", "bank")

    def test_registry_and_shadow_writes(self) -> None:
        declared = Declarations(GUILD, domain_kinds={"guild": ("guild",)})
        assert sorted(declared.registry().names()) == ["deposit_gold", "get_guild", "list_banks"]
        writes = declared.shadow_writes()
        assert writes.entities == {"get_guild": ROWS}
        assert writes.read_entities == {"get_guild": "guild"}
        assert writes.already_open == (UnitAlreadyOpen,)

    def test_a_name_declared_twice_is_refused(self) -> None:
        with pytest.raises(ValueError, match="already registered"):
            Declarations((*GUILD, declare("guild", "get_guild", "read", "guild_id")))

    def test_an_empty_declaration_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at least one operation"):
            Declarations(())
