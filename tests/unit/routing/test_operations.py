"""The MUD's registry declares every method of both persistence Protocols, keyed correctly."""

from __future__ import annotations

import inspect

import pytest

from app.operations import DOMAINS, LEGACY_NAMES, build_registry
from persistence.api import AsyncPersistence, SyncPersistence
from routing.keys import compile_key

pytestmark = pytest.mark.unit

NOT_ROUTED = {"transaction", "close"}


def protocol_methods(protocol: type) -> set[str]:
    return {
        name
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_") and name not in NOT_ROUTED
    }


def bound_signature(protocol: type, name: str) -> inspect.Signature:
    signature = inspect.signature(getattr(protocol, name))
    return signature.replace(parameters=list(signature.parameters.values())[1:])


class TestCoverage:
    """Nothing is left unrouted and nothing is invented."""

    def test_every_legacy_method(self) -> None:
        assert build_registry().legacy_names() == protocol_methods(SyncPersistence)

    def test_every_async_method(self) -> None:
        sync_only = {
            name for name in protocol_methods(SyncPersistence) if name not in LEGACY_NAMES.values()
        }
        expected = protocol_methods(AsyncPersistence) | (
            sync_only - protocol_methods(AsyncPersistence)
        )
        assert build_registry().names() == expected

    def test_renamed_operations_follow_legacy_names(self) -> None:
        registry = build_registry()
        for name, legacy_name in LEGACY_NAMES.items():
            assert registry.get(name).legacy_name == legacy_name

    def test_domains(self) -> None:
        assert build_registry().domains() == DOMAINS

    def test_containers_and_items_keep_their_names(self) -> None:
        registry = build_registry()
        for domain in ("container", "item"):
            assert all(op.name == op.legacy_name for op in registry.in_domain(domain))


class TestDeclarations:
    """Keys name real parameters; readbacks name reads of the same registry."""

    def test_keys_compile_against_both_protocols(self) -> None:
        for op in build_registry():
            compile_key(op, bound_signature(SyncPersistence, op.legacy_name))
            if hasattr(AsyncPersistence, op.name):
                compile_key(op, bound_signature(AsyncPersistence, op.name))

    def test_readbacks_are_registered_reads(self) -> None:
        registry = build_registry()
        for op in registry:
            if op.readback is not None:
                assert op.kind == "write", op.name
                assert registry.get(op.readback).kind == "read"

    def test_player_writes_key_on_the_player(self) -> None:
        registry = build_registry()
        for name in ("save_player", "damage_player", "heal_player", "gain_experience"):
            assert registry.get(name).key == "player.player_id"

    def test_kinds(self) -> None:
        writes = {op.name for op in build_registry() if op.kind == "write"}
        assert {
            "save_player",
            "damage_player",
            "create_container",
            "delete_item_instance",
        } <= writes
        assert not writes & {"get_player_by_id", "list_rooms", "item_instance_exists"}
