"""Both implementations offer every method of the contract, with the contract's signature."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from app.operations import LEGACY_NAMES
from persistence.api import AsyncPersistence, SyncPersistence

pytestmark = pytest.mark.contract

ASYNC_NAMES = {legacy: modern for modern, legacy in LEGACY_NAMES.items()}
SYNC_METHODS = sorted(
    name
    for name, fn in vars(SyncPersistence).items()
    if inspect.isfunction(fn) and not name.startswith("_")
)


def _params(fn: Any) -> list[tuple[str, Any, Any]]:
    """Parameter names, kinds and defaults, without ``self``."""
    sig = inspect.signature(fn)
    return [(p.name, p.kind, p.default) for p in sig.parameters.values() if p.name != "self"]


def _legacy() -> type:
    from persistence.legacy import PersistenceLayer

    return PersistenceLayer


def _async() -> type:
    from persistence.async_layer import AsyncPersistenceLayer

    return AsyncPersistenceLayer


class TestSurface:
    """Same names (through LEGACY_NAMES), same parameters and defaults, sync vs awaited."""

    def test_protocol_is_complete(self) -> None:
        assert len(SYNC_METHODS) == 38
        declared_async = {
            n for n, f in vars(AsyncPersistence).items() if inspect.isfunction(f) and n[0] != "_"
        }
        assert {ASYNC_NAMES.get(n, n) for n in SYNC_METHODS} >= declared_async

    @pytest.mark.parametrize("name", SYNC_METHODS)
    def test_legacy(self, name: str) -> None:
        method = getattr(_legacy(), name)
        assert not inspect.iscoroutinefunction(method)
        assert _params(method) == _params(getattr(SyncPersistence, name))

    @pytest.mark.parametrize("name", SYNC_METHODS)
    def test_async(self, name: str) -> None:
        modern = ASYNC_NAMES.get(name, name)
        method = getattr(_async(), modern)
        assert _params(method) == _params(getattr(SyncPersistence, name))
        if name != "transaction":
            assert inspect.iscoroutinefunction(method), modern
