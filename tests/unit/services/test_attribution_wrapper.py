"""``routing.attribution`` on an in-memory path: who is counted, on which path, and errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flags.decision import DecisionTable
from flags.model import FlagState
from routing import Operation, OperationRegistry, PersistenceRouter
from routing.attribution import attribute
from routing.services import ServiceNames, calling_service, current_service
from shadow.service_counts import ServiceCounts

pytestmark = pytest.mark.unit


class Path:
    """Both paths in memory: ``get`` answers the key, ``boom`` raises; each notes the service."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []
        self.hold: asyncio.Event | None = None  # when set, async calls wait for it

    def get(self, key: str) -> str:
        self.seen.append(current_service())
        return key

    async def get_async(self, key: str) -> str:
        self.seen.append(current_service())
        if self.hold is not None:
            await self.hold.wait()
        return key

    def boom(self, key: str) -> str:
        raise LookupError(key)

    async def boom_async(self, key: str) -> str:
        raise LookupError(key)


def router(mode: str, flags: dict[str, FlagState] | None = None) -> tuple[Any, ServiceCounts, Path]:
    path = Path()
    registry = OperationRegistry(
        [
            Operation("player", "get_async", "read", "key", "get"),
            Operation("player", "boom_async", "read", "key", "boom"),
        ]
    )
    table = DecisionTable(flags or {"player": FlagState("player", mode)})  # type: ignore[arg-type]
    routed = PersistenceRouter(registry, legacy=path, async_=path, flags=table)
    counts = ServiceCounts()
    attribute(routed, counts.record, ServiceNames(["combat_service"], cap=1))
    return routed, counts, path


def calls(counts: ServiceCounts) -> dict[tuple[str, str], tuple[int, int, int, int, int]]:
    return {
        (service, op): (
            c.calls,
            c.legacy_answered,
            c.async_answered,
            c.legacy_errors,
            c.async_errors,
        )
        for (service, _, op), c in counts.totals().items()
    }


class TestAsyncRouter:
    """The context's service, none, a view, and a raising path."""

    async def test_services_paths_and_errors(self) -> None:
        routed, counts, _ = router("async")
        with calling_service("combat_service"):
            await routed.get_async("a")
            with pytest.raises(LookupError):
                await routed.boom_async("b")
        await routed.get_async("c")
        await routed.for_service("npc_spawning").get_async("d")
        await routed.for_service("one_too_many").get_async("e")  # past the cap of 1
        assert calls(counts) == {
            ("combat_service", "get_async"): (1, 0, 1, 0, 0),
            ("combat_service", "boom_async"): (1, 0, 1, 0, 1),
            ("unattributed", "get_async"): (1, 0, 1, 0, 0),
            ("npc_spawning", "get_async"): (1, 0, 1, 0, 0),
            ("other", "get_async"): (1, 0, 1, 0, 0),
        }
        await routed.close()

    async def test_a_view_sets_the_context_for_its_call(self) -> None:
        routed, _, path = router("async")
        with calling_service("combat_service"):
            await routed.for_service("user_manager").get_async("a")
            assert current_service() == "combat_service"  # restored after the call
        assert path.seen == ["user_manager"]
        await routed.close()

    async def test_flag_targeting_reads_the_context(self) -> None:
        targeted = {"player": FlagState("player", "async", services=frozenset({"combat_service"}))}
        routed, counts, _ = router("async", targeted)
        with calling_service("combat_service"):
            await routed.get_async("a")
        await routed.get_async("b")
        assert calls(counts) == {
            ("combat_service", "get_async"): (1, 0, 1, 0, 0),
            ("unattributed", "get_async"): (1, 1, 0, 0, 0),
        }
        await routed.close()

    async def test_a_cancelled_call_is_not_counted(self) -> None:
        routed, counts, path = router("async")
        path.hold = asyncio.Event()  # never set: the call waits until cancelled
        task = asyncio.create_task(routed.get_async("a"))
        for _ in range(3):  # a few turns of the loop: the call reaches the path and waits
            await asyncio.sleep(0)
        assert path.seen == [None]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert calls(counts) == {}
        await routed.close()


class TestSyncFacade:
    """The sync facade counts in the caller's thread, legacy answering in legacy mode."""

    def test_sync_calls(self) -> None:
        routed, counts, _ = router("legacy")
        facade = routed.sync
        with calling_service("combat_service"):
            facade.get("a")
            with pytest.raises(LookupError):
                facade.boom("b")
        facade.get("c")
        assert calls(counts) == {
            ("combat_service", "get_async"): (1, 1, 0, 0, 0),
            ("combat_service", "boom_async"): (1, 1, 0, 1, 0),
            ("unattributed", "get_async"): (1, 1, 0, 0, 0),
        }
        facade.close()
