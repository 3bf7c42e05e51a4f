"""Existing sync code, ``get_persistence().get_player(...)``, works through the routed facade."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from app.operations import build_registry
from flags.model import Mode
from persistence import get_persistence, set_persistence
from routing import InsideEventLoopError, PersistenceRouter, SyncFacade
from tests.integration.routing.conftest import AllDomains
from tests.integration.routing.recorder import Recorder
from tests.integration.routing.scenario import Call, World
from tests.integration.routing.test_routed_paths import async_direct, legacy_direct, scenario

pytestmark = pytest.mark.integration


@pytest.fixture
def installed(router: PersistenceRouter) -> Iterator[SyncFacade]:
    """The router's facade installed as the process-wide persistence."""
    set_persistence(router.sync)
    yield router.sync
    set_persistence(None)


def through_get_persistence(router: PersistenceRouter) -> Call:
    """Each call made the legacy way, by name, from a worker thread."""

    async def call(name: str, *args: Any, **kwargs: Any) -> Any:
        legacy_name = router.registry.get(name).legacy_name
        method = getattr(get_persistence(), legacy_name)
        return await asyncio.to_thread(method, *args, **kwargs)

    return call


class TestLegacyCallers:
    """The facade's results equal the path's own, in either mode."""

    @pytest.mark.parametrize(("mode", "path"), [("legacy", "legacy"), ("async", "async")])
    async def test_scenario(
        self, legacy: Any, async_layer: Any, world: World, mode: Mode, path: str
    ) -> None:
        served: list[tuple[str, str]] = []
        router = PersistenceRouter(
            build_registry(),
            legacy=Recorder(legacy, "legacy", served),
            async_=Recorder(async_layer, "async", served),
            flags=AllDomains(mode),
        )
        set_persistence(router.sync)
        try:
            through_facade = await scenario(through_get_persistence(router), world)
        finally:
            set_persistence(None)
            await router.close()
        direct = legacy_direct(legacy) if path == "legacy" else async_direct(async_layer)
        directly = await scenario(direct, world)
        assert through_facade.results == directly.results
        assert {p for p, name in served if name != "close"} == {path}

    async def test_many_threads_share_one_loop(
        self, installed: SyncFacade, flags: AllDomains, world: World
    ) -> None:
        flags.mode = "async"
        ids = list(world.player_ids)

        def work(n: int) -> list[str]:
            persistence = get_persistence()
            return [persistence.get_player(ids[(n + i) % 3]).name for i in range(20)]

        names = await asyncio.gather(*(asyncio.to_thread(work, n) for n in range(16)))
        assert {name for batch in names for name in batch} == {
            (await asyncio.to_thread(installed.get_player, pid)).name for pid in ids
        }
        database = installed._paths.async_.database  # type: ignore[attr-defined]
        loops = [loop for loop in database._pools if loop is not asyncio.get_running_loop()]
        assert loops == [installed._paths.loop_thread.loop]


class TestGuards:
    """Refused inside a loop; the legacy signatures; close releases the background pool."""

    async def test_refused_inside_the_loop(self, installed: SyncFacade) -> None:
        with pytest.raises(InsideEventLoopError):
            get_persistence().get_player("00000000-0000-0000-0000-000000000000")

    def test_legacy_signatures(self, router: PersistenceRouter, legacy: Any) -> None:
        for op in router.registry:
            facade_method = getattr(router.sync, op.legacy_name)
            assert inspect.signature(facade_method) == inspect.signature(
                getattr(legacy, op.legacy_name)
            )

    async def test_close_closes_the_background_pool(
        self, router: PersistenceRouter, flags: AllDomains, async_layer: Any, world: World
    ) -> None:
        flags.mode = "async"
        player = await asyncio.to_thread(router.sync.get_player, world.player_ids[0])
        assert player is not None
        loop = router._paths.loop_thread.loop
        pool = async_layer.database._pools[loop]
        await router.close()
        assert pool._closed
        assert not router._paths.loop_thread.started
