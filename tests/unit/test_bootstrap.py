"""The composition root takes injected parts: a unit test opens a system over in-memory paths."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from app.bootstrap import System, open_system
from app.settings import Settings
from flags.environment import EnvironmentFlags
from persistence.legacy import get_persistence
from routing import Operation, OperationRegistry
from shadow.system import Shadow
from tests.unit.shadow_runner.fakes import Async, Legacy, Player, Store

pytestmark = pytest.mark.unit

UNUSED_URL = "postgresql://127.0.0.1:1/never-connected"
OPERATIONS = [
    Operation("player", "get_player_by_id", "read", "player_id", legacy_name="get_player"),
    Operation("health", "damage_player", "write", "player.id", mutates_arguments=True),
]


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": UNUSED_URL,
        "guard_enabled": False,
        "heap_trim_interval_s": 0,
        **overrides,
    }
    return Settings(**values)


async def opened(store: Store, flags: str, **overrides: Any) -> AsyncIterator[System]:
    async with open_system(
        settings(**overrides),
        legacy=Legacy(store),  # type: ignore[arg-type]
        async_layer=Async(store),  # type: ignore[arg-type]
        flags=EnvironmentFlags(flags, ("player", "health")),
        shadow=Shadow(UNUSED_URL, registry=CollectorRegistry()),
        registry=OperationRegistry(OPERATIONS),
    ) as system:
        yield system


class TestInjectedParts:
    """Given parts are used as they are; nothing connects to a database."""

    async def test_calls_reach_the_injected_paths(self) -> None:
        store = Store(hp=70)
        async for system in opened(store, "player=legacy,health=async"):
            assert await system.router.get_player_by_id("p1") == Player("p1", 70)
            assert await system.router.damage_player(Player("p1", 70), 5) == 65
            assert store.hp == 65
            assert await asyncio.to_thread(system.sync.get_player, "p1") == Player("p1", 65)

    async def test_the_sync_facade_is_installed_while_open(self) -> None:
        async for system in opened(Store(), "player=legacy,health=legacy"):
            assert get_persistence() is system.sync


class TestDispatchChain:
    """Each mode's layers, outermost first, as the system composed them."""

    async def test_without_the_guard(self) -> None:
        async for system in opened(Store(), "player=legacy,health=legacy"):
            assert system.guard is None
            assert {mode: system.dispatch.order(mode) for mode in system.dispatch.modes} == {
                "legacy": ("attribution", "write_watch", "legacy"),
                "shadow": ("attribution", "shadow_runner"),
                "live": ("attribution", "shadow_runner"),
                "async": ("attribution", "write_watch", "async"),
            }

    async def test_the_guard_wraps_async_inside_the_attribution(self) -> None:
        async for system in opened(Store(), "player=legacy,health=legacy", guard_enabled=True):
            assert system.guard is not None
            expected = ("attribution", "guard", "write_watch", "async")
            assert system.dispatch.order("async") == expected
            assert system.dispatch.order("legacy") == ("attribution", "write_watch", "legacy")
