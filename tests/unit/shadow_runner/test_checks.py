"""What installing the runner checks without a database: read-backs resolve, paths can shadow."""

from __future__ import annotations

import pytest

from routing import Operation, OperationRegistry
from routing.shadowing import DeclarationError, Entity, RowGroup, ShadowWrites
from routing.shadowing.checks import check_paths
from tests.unit.shadow_runner.fakes import Async, Legacy, Store

pytestmark = pytest.mark.unit

READ = Operation("player", "get_player_by_id", "read", "player_id", legacy_name="get_player")
ROWS = Entity("player", (RowGroup("players", ("player_id",), "player_id = {key}::uuid"),))
WRITES = ShadowWrites(entities={"get_player_by_id": ROWS})


def damage(**details: object) -> Operation:
    return Operation("health", "damage_player", "write", "player.id", **details)  # type: ignore[arg-type]


def problems(*ops: Operation, writes: ShadowWrites = WRITES, legacy: object = None) -> str:
    store = Store()
    with pytest.raises(DeclarationError) as raised:
        check_paths(OperationRegistry(ops), legacy or Legacy(store), Async(store), writes)
    return str(raised.value)


class NoTransaction:
    """A legacy path with the operations but no unit of work."""

    def __init__(self) -> None:
        legacy = Legacy(Store())
        self.get_player, self.damage_player = legacy.get_player, legacy.damage_player


class TestCheckPaths:
    """Each wrong write declaration is named; a right one passes."""

    def test_a_right_declaration_passes(self) -> None:
        ops = OperationRegistry([READ, damage(readback="get_player_by_id")])
        store = Store()
        check_paths(ops, Legacy(store), Async(store), WRITES)

    def test_a_keyed_write_without_read_back(self) -> None:
        assert "has a key ('player.id') but no read-back" in problems(READ, damage())

    def test_a_misspelt_read_back_is_named_with_the_nearest(self) -> None:
        found = problems(READ, damage(readback="get_player_by_di"))
        assert "'get_player_by_di' is not a declared operation" in found
        assert "did you mean 'get_player_by_id'?" in found

    def test_a_read_back_without_rows(self) -> None:
        found = problems(READ, damage(readback="get_player_by_id"), writes=ShadowWrites())
        assert "has no rows declared" in found

    def test_a_read_back_that_is_a_write(self) -> None:
        other = Operation("health", "heal_player", "write", None)
        found = problems(READ, other, damage(readback="heal_player"))
        assert "'heal_player' is a write, not a read" in found

    def test_a_path_without_transaction(self) -> None:
        found = problems(READ, damage(readback="get_player_by_id"), legacy=NoTransaction())
        assert "the legacy path NoTransaction has no transaction()" in found

    def test_a_touched_read_back_must_resolve_too(self) -> None:
        writes = ShadowWrites(
            entities={"get_player_by_id": ROWS}, touches={"damage_player": (("get_item", "x"),)}
        )
        found = problems(READ, damage(readback="get_player_by_id"), writes=writes)
        assert "'get_item' is not a declared operation" in found
