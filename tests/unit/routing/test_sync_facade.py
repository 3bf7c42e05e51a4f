"""The sync facade serves legacy-named blocking calls through the same flags as the router."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from flags.model import Mode
from routing import (
    InsideEventLoopError,
    LoopClosedError,
    PersistenceRouter,
    Route,
    SyncFacade,
    TransactionNotRoutedError,
)
from tests.unit.routing.widgets import (
    AsyncWidgets,
    FixedFlags,
    LegacyWidgets,
    Store,
    Widget,
    WidgetMissing,
    seeded_store,
    widget_registry,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def paths(store: Store) -> tuple[LegacyWidgets, AsyncWidgets]:
    return LegacyWidgets(store), AsyncWidgets(store)


@pytest.fixture
def sync(paths: tuple[LegacyWidgets, AsyncWidgets], flags: FixedFlags) -> Iterator[SyncFacade]:
    legacy, async_ = paths
    router = PersistenceRouter(widget_registry(), legacy=legacy, async_=async_, flags=flags)
    facade = router.sync
    yield facade
    facade.close()


class TestModes:
    """legacy and shadow run in the caller's thread; live and async on the one loop thread."""

    @pytest.mark.parametrize("mode", ["legacy", "shadow"])
    def test_legacy_in_callers_thread(
        self, sync: SyncFacade, flags: FixedFlags, store: Store, mode: Mode
    ) -> None:
        flags.modes["widget"] = mode
        assert sync.get_widget("w1") is store.rows["w1"]
        assert store.served == [("legacy", "get_widget")]
        assert store.threads == [threading.current_thread().name]

    @pytest.mark.parametrize("mode", ["live", "async"])
    def test_async_on_the_loop_thread(
        self, sync: SyncFacade, flags: FixedFlags, store: Store, mode: Mode
    ) -> None:
        flags.modes["widget"] = mode
        assert sync.get_widget("w1") is store.rows["w1"]
        assert store.served == [("async", "get_widget_by_id")]
        assert store.threads == ["dualpath-async-loop"]

    def test_decided_once_per_call_with_the_legacy_signature(
        self, sync: SyncFacade, flags: FixedFlags
    ) -> None:
        sync.get_widget("w1")
        sync.save_widget(Widget("w9", "nine"))
        sync.for_service("npc_service").resize(widget_id="w9", size=3)
        assert flags.asked == [
            ("widget", "w1", None),
            ("widget", "w9", None),
            ("widget", "w9", "npc_service"),
        ]

    @pytest.mark.parametrize("mode", ["legacy", "async"])
    def test_exceptions_pass_through(self, sync: SyncFacade, flags: FixedFlags, mode: Mode) -> None:
        flags.modes["widget"] = mode
        with pytest.raises(WidgetMissing, match="ghost"):
            sync.resize("ghost", size=1)


class TestThreads:
    """Many threads share one background loop; every call gets its own answer."""

    def test_sixteen_threads(self, sync: SyncFacade, flags: FixedFlags) -> None:
        store = seeded_store(64)
        sync._paths.legacy.store = sync._paths.async_.store = store  # type: ignore[attr-defined]
        flags.modes["widget"] = "async"
        flags.modes["gadget"] = "legacy"

        def work(thread: int) -> list[bool]:
            ids = [f"w{(thread * 4 + i) % 64}" for i in range(50)]
            return [sync.get_widget(i) is store.rows[i] and sync.count_widgets() == 64 for i in ids]

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(work, range(16)))
        assert all(all(r) for r in results)
        assert len(set(store.loops)) == 1
        assert {path for path, _ in store.served} == {"async", "legacy"}
        assert len(store.served) == 16 * 50 * 2


class TestInsideEventLoop:
    """A blocking call from inside a running loop is refused at once, whatever the mode."""

    @pytest.mark.parametrize("mode", ["legacy", "async"])
    async def test_refused_quickly(
        self, sync: SyncFacade, flags: FixedFlags, store: Store, mode: Mode
    ) -> None:
        flags.modes["widget"] = mode
        begun = time.perf_counter()
        with pytest.raises(InsideEventLoopError, match="await the router"):
            sync.get_widget("w1")
        assert time.perf_counter() - begun < 0.1
        assert store.served == []
        assert flags.asked == []

    async def test_is_a_runtime_error(self, sync: SyncFacade) -> None:
        with pytest.raises(RuntimeError):
            sync.count_widgets()

    def test_refused_on_the_background_loop_thread_too(
        self, sync: SyncFacade, flags: FixedFlags
    ) -> None:
        flags.modes["widget"] = "async"
        sync.get_widget("w1")
        loop = sync._paths.loop_thread.loop
        assert loop is not None

        async def nested() -> str:
            try:
                sync.get_widget("w1")
            except InsideEventLoopError as exc:
                return type(exc).__name__
            return "not refused"

        result = asyncio.run_coroutine_threadsafe(nested(), loop).result(timeout=2)
        assert result == "InsideEventLoopError"


class TestSurface:
    """The facade has the legacy names and the legacy signatures."""

    def test_legacy_names_and_signatures(
        self, sync: SyncFacade, paths: tuple[LegacyWidgets, AsyncWidgets]
    ) -> None:
        legacy = paths[0]
        own = {"close", "for_service", "registry", "service", "transaction"}
        public = {name for name in dir(sync) if not name.startswith("_")}
        assert public - own == widget_registry().legacy_names()
        for name in widget_registry().legacy_names():
            routed, direct = getattr(sync, name), getattr(legacy, name)
            assert inspect.signature(routed) == inspect.signature(direct), name
            assert routed.__doc__ == direct.__doc__

    def test_one_facade_per_service(self, sync: SyncFacade) -> None:
        assert sync.for_service("api") is sync.for_service("api")
        assert sync.for_service(None) is sync

    def test_router_views_and_facade_views_agree(self, store: Store) -> None:
        router = PersistenceRouter(
            widget_registry(),
            legacy=LegacyWidgets(store),
            async_=AsyncWidgets(store),
            flags=FixedFlags(),
        )
        assert router.sync is router.sync
        assert router.for_service("api").sync is router.sync.for_service("api")
        router.sync.close()

    def test_transaction_is_not_routed(self, sync: SyncFacade) -> None:
        with pytest.raises(TransactionNotRoutedError):
            sync.transaction()


class TestClose:
    """Closing closes the async pool on the loop thread, then stops the thread."""

    def test_close_runs_async_close_on_the_loop_thread(
        self, sync: SyncFacade, flags: FixedFlags, paths: tuple[LegacyWidgets, AsyncWidgets]
    ) -> None:
        flags.modes["widget"] = "async"
        sync.get_widget("w1")
        loop_id = paths[1].store.loops[0]
        thread = sync._paths.loop_thread._thread
        sync.close()
        assert paths[1].closed_on == [loop_id]
        assert thread is not None and not thread.is_alive()

    def test_async_call_after_close_raises(self, sync: SyncFacade, flags: FixedFlags) -> None:
        flags.modes["widget"] = "async"
        sync.close()
        with pytest.raises(LoopClosedError):
            sync.get_widget("w1")

    def test_close_without_use_starts_nothing(
        self, sync: SyncFacade, paths: tuple[LegacyWidgets, AsyncWidgets]
    ) -> None:
        sync.close()
        assert paths[1].closed_on == []

    async def test_router_close_stops_the_loop_thread(
        self, store: Store, flags: FixedFlags
    ) -> None:
        router = PersistenceRouter(
            widget_registry(), legacy=LegacyWidgets(store), async_=AsyncWidgets(store), flags=flags
        )
        flags.modes["widget"] = "async"
        await asyncio.to_thread(router.sync.get_widget, "w1")
        await router.close()
        assert not router._paths.loop_thread.started


class TestDispatchPlugIn:
    """A blocking strategy plugged in through the router serves that mode on the facade."""

    def test_use_dispatch_with_sync(self, store: Store, flags: FixedFlags) -> None:
        seen: list[str] = []

        def recorded(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            seen.append(route.operation.legacy_name)
            return route.legacy(*args, **kwargs)

        async def unused(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            raise AssertionError("the async side was not called")

        router = PersistenceRouter(
            widget_registry(), legacy=LegacyWidgets(store), async_=AsyncWidgets(store), flags=flags
        )
        router.use_dispatch("shadow", unused, sync=recorded)
        flags.modes["widget"] = "shadow"
        assert router.sync.get_widget("w2") is store.rows["w2"]
        router.sync.close()
        assert seen == ["get_widget"]
        assert store.served == [("legacy", "get_widget")]
