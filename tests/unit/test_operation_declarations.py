"""One home per operation: every Protocol method is declared, every declaration implemented.

An operation is its two implementations (``PersistenceLayer`` and ``AsyncPersistenceLayer``),
the two Protocol methods they satisfy, and one declaration in ``app.operations``. These
tests fail as soon as one of those is missing, without a database.
"""

from __future__ import annotations

import pytest

from app.operations import DECLARATIONS, Declaration
from persistence.api import AsyncPersistence, SyncPersistence
from persistence.async_layer import AsyncPersistenceLayer
from persistence.legacy import PersistenceLayer

pytestmark = pytest.mark.unit

NOT_OPERATIONS = {"transaction", "close"}


def methods(protocol: type) -> set[str]:
    """The operation methods a Protocol declares."""
    return {
        name
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_") and name not in NOT_OPERATIONS
    }


def undeclared(declarations: tuple[Declaration, ...], sync: type, async_: type) -> set[str]:
    """Protocol methods that no declaration names."""
    legacy = {d.legacy_name or d.name for d in declarations}
    modern = {d.name for d in declarations}
    return {f"sync.{n}" for n in methods(sync) - legacy} | {
        f"async.{n}" for n in methods(async_) - modern
    }


def unimplemented(declarations: tuple[Declaration, ...], legacy: type, async_: type) -> set[str]:
    """Declarations without a method on one of the two paths."""
    missing = set()
    for d in declarations:
        if not callable(getattr(legacy, d.legacy_name or d.name, None)):
            missing.add(f"legacy.{d.legacy_name or d.name}")
        if not callable(getattr(async_, d.name, None)):
            missing.add(f"async.{d.name}")
    return missing


class TestOneHome:
    """The Protocols, the declarations and the two paths agree."""

    def test_every_protocol_method_is_declared(self) -> None:
        assert undeclared(DECLARATIONS, SyncPersistence, AsyncPersistence) == set()

    def test_every_declaration_is_implemented_on_both_paths(self) -> None:
        assert unimplemented(DECLARATIONS, PersistenceLayer, AsyncPersistenceLayer) == set()

    def test_every_declaration_is_in_both_protocols(self) -> None:
        assert unimplemented(DECLARATIONS, SyncPersistence, AsyncPersistence) == set()

    def test_names_are_declared_once(self) -> None:
        names = [d.name for d in DECLARATIONS]
        assert len(names) == len(set(names))


class TestTheChecksCanFail:
    """An operation added to a Protocol alone, or declared alone, is caught."""

    def test_a_protocol_method_without_a_declaration(self) -> None:
        class MoreSync(SyncPersistence):
            def teleport(self, player_id: str) -> None: ...

        assert undeclared(DECLARATIONS, MoreSync, AsyncPersistence) == {"sync.teleport"}

    def test_a_declaration_without_an_implementation(self) -> None:
        extra = Declaration("player", "teleport_player", "write", "player_id")
        found = unimplemented((*DECLARATIONS, extra), PersistenceLayer, AsyncPersistenceLayer)
        assert found == {"legacy.teleport_player", "async.teleport_player"}
