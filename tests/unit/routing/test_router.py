"""The router serves each call from the path its domain's flag selects, and adds nothing else."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from structlog.testing import capture_logs

from flags.decision import DecisionTable
from flags.model import FlagState, Mode
from routing import (
    Operation,
    OperationRegistry,
    PersistenceRouter,
    Route,
    TransactionNotRoutedError,
)
from tests.unit.routing.widgets import (
    AsyncWidgets,
    BrokenFlags,
    FixedFlags,
    LegacyWidgets,
    Store,
    Widget,
    WidgetMissing,
    seeded_store,
    widget_registry,
)

pytestmark = pytest.mark.unit


def make_router(store: Store, flags: Any, **options: Any) -> PersistenceRouter:
    return PersistenceRouter(
        widget_registry(),
        legacy=LegacyWidgets(store),
        async_=AsyncWidgets(store),
        flags=flags,
        **options,
    )


class TestModes:
    """legacy and shadow run the legacy method in the pool; live and async await the async one."""

    @pytest.mark.parametrize(
        ("mode", "path"),
        [("legacy", "legacy"), ("shadow", "legacy"), ("live", "async"), ("async", "async")],
    )
    async def test_mode_selects_path(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store, mode: Mode, path: str
    ) -> None:
        flags.modes["widget"] = mode
        widget = await router.get_widget_by_id("w1")
        assert widget == store.rows["w1"]
        expected = "get_widget" if path == "legacy" else "get_widget_by_id"
        assert store.served == [(path, expected)]

    async def test_legacy_runs_in_the_router_pool(
        self, router: PersistenceRouter, store: Store
    ) -> None:
        await router.get_widget_by_id("w1")
        assert store.threads[0].startswith("dualpath-legacy")

    async def test_async_runs_on_the_callers_loop(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store
    ) -> None:
        flags.modes["widget"] = "async"
        await router.get_widget_by_id("w1")
        assert store.loops == [id(asyncio.get_running_loop())]

    async def test_each_domain_follows_its_own_flag(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store
    ) -> None:
        flags.modes["gadget"] = "async"
        await router.get_widget_by_id("w0")
        await router.count_widgets()
        assert store.served == [("legacy", "get_widget"), ("async", "count_widgets")]

    async def test_flag_change_applies_to_the_next_call(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store
    ) -> None:
        await router.resize("w0", size=9)
        flags.modes["widget"] = "async"
        await router.resize("w0", size=10)
        assert [path for path, _ in store.served] == ["legacy", "async"]


class TestPassThrough:
    """Results and exceptions come back exactly as the path produced them."""

    @pytest.mark.parametrize("mode", ["legacy", "async"])
    async def test_result_is_the_paths_object(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store, mode: Mode
    ) -> None:
        flags.modes["widget"] = mode
        assert await router.get_widget_by_id("w2") is store.rows["w2"]
        assert await router.get_widget_by_id("nope") is None

    @pytest.mark.parametrize("mode", ["legacy", "async"])
    async def test_exception_passes_through(
        self, router: PersistenceRouter, flags: FixedFlags, mode: Mode
    ) -> None:
        flags.modes["widget"] = mode
        with pytest.raises(WidgetMissing, match="ghost"):
            await router.resize("ghost", size=2)

    @pytest.mark.parametrize("mode", ["legacy", "async"])
    async def test_keyword_and_positional_arguments(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store, mode: Mode
    ) -> None:
        flags.modes["widget"] = mode
        assert await router.resize(widget_id="w0", size=5) == 1
        assert await router.resize("w0") == 5
        assert store.rows["w0"].size == 1

    async def test_contextvars_reach_the_legacy_thread(self, router: PersistenceRouter) -> None:
        request: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")
        seen: list[str] = []
        legacy = router._paths.legacy
        original = legacy.count_widgets  # type: ignore[attr-defined]

        def count_widgets() -> int:
            seen.append(request.get())
            return int(original())

        legacy.count_widgets = count_widgets  # type: ignore[attr-defined]
        fresh = PersistenceRouter(
            widget_registry(), legacy=legacy, async_=router._paths.async_, flags=FixedFlags()
        )
        request.set("req-42")
        await fresh.count_widgets()
        await fresh.close()
        assert seen == ["req-42"]


class TestDecision:
    """One flag decision per call, with the domain, the entity key and the service."""

    async def test_decided_once_per_call(
        self, router: PersistenceRouter, flags: FixedFlags
    ) -> None:
        widget = Widget("w7", "new")
        await router.get_widget_by_id("w1")
        await router.save_widget(widget)
        await router.resize(widget_id="w7", size=3)
        await router.count_widgets()
        assert flags.asked == [
            ("widget", "w1", None),
            ("widget", "w7", None),
            ("widget", "w7", None),
            ("gadget", None, None),
        ]

    async def test_service_view_carries_its_name(
        self, router: PersistenceRouter, flags: FixedFlags
    ) -> None:
        await router.for_service("combat_service").get_widget_by_id("w1")
        assert flags.asked == [("widget", "w1", "combat_service")]

    async def test_service_view_is_cached_and_shares_the_paths(
        self, router: PersistenceRouter
    ) -> None:
        view = router.for_service("combat_service")
        assert router.for_service("combat_service") is view
        assert router.for_service(None) is router
        assert view._paths is router._paths
        assert view.service == "combat_service"

    async def test_services_restrict_the_flag(self, store: Store) -> None:
        table = DecisionTable(
            {"widget": FlagState("widget", "async", services=frozenset({"combat_service"}))}
        )
        router = make_router(store, table)
        await router.get_widget_by_id("w1")
        await router.for_service("combat_service").get_widget_by_id("w1")
        await router.for_service("chat_service").get_widget_by_id("w1")
        await router.close()
        assert [path for path, _ in store.served] == ["legacy", "async", "legacy"]


class TestPercentRollout:
    """At 25 %, each entity key always gets the same mode, whatever operation carries it."""

    KEYS = [f"widget-{i}" for i in range(400)]

    async def test_sticky_per_key(self) -> None:
        store = Store({k: Widget(k, k) for k in self.KEYS})
        table = DecisionTable({"widget": FlagState("widget", "async", percent=25)})
        router = make_router(store, table)
        paths_of: dict[str, set[str]] = {key: set() for key in self.KEYS}
        for _ in range(3):
            for key in self.KEYS:
                before = len(store.served)
                await router.get_widget_by_id(key)
                await router.resize(key, size=1)
                paths_of[key] |= {path for path, _ in store.served[before:]}
        await router.close()
        assert all(len(paths) == 1 for paths in paths_of.values())
        share = sum(paths == {"async"} for paths in paths_of.values()) / len(self.KEYS)
        assert 0.15 < share < 0.35

    async def test_key_read_through_attribute_path_matches_the_plain_key(self) -> None:
        store = Store({k: Widget(k, k) for k in self.KEYS})
        table = DecisionTable({"widget": FlagState("widget", "async", percent=25)})
        router = make_router(store, table)
        for key in self.KEYS:
            await router.get_widget_by_id(key)
            await router.save_widget(store.rows[key])
        await router.close()
        by_id = [path for path, _ in store.served[0::2]]
        by_attribute = [path for path, _ in store.served[1::2]]
        assert by_id == by_attribute
        assert "async" in by_id and "legacy" in by_id


class TestBrokenFlags:
    """A provider that raises or answers nonsense costs the caller nothing: legacy, logged once."""

    async def test_raising_provider_serves_legacy_and_logs_once(self) -> None:
        store, flags = seeded_store(), BrokenFlags()
        router = make_router(store, flags)
        with capture_logs() as logs:
            for _ in range(20):
                assert await router.get_widget_by_id("w1") == store.rows["w1"]
            flags.broken = False
            await router.get_widget_by_id("w1")
            await router.get_widget_by_id("w1")
        await router.close()
        assert {path for path, _ in store.served[:20]} == {"legacy"}
        assert [path for path, _ in store.served[20:]] == ["async", "async"]
        events = [entry["event"] for entry in logs]
        assert events == ["routing.flags_unavailable", "routing.flags_recovered"]

    async def test_unknown_mode_serves_legacy(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store
    ) -> None:
        flags.modes["widget"] = "sideways"  # type: ignore[assignment]
        with capture_logs() as logs:
            await router.get_widget_by_id("w1")
            await router.get_widget_by_id("w1")
        assert store.served == [("legacy", "get_widget")] * 2
        assert [entry["event"] for entry in logs] == ["routing.flags_unavailable"]


class TestSurface:
    """The router has exactly the async API of the path it stands in for."""

    async def test_operation_methods_are_the_registry(self, router: PersistenceRouter) -> None:
        own = {
            "close",
            "for_service",
            "registry",
            "service",
            "strategies",
            "sync",
            "transaction",
            "use_dispatch",
        }
        public = {name for name in dir(router) if not name.startswith("_")}
        assert public - own == widget_registry().names()

    async def test_signatures_and_docs_are_copied(self, router: PersistenceRouter) -> None:
        async_path = router._paths.async_
        for name in widget_registry().names():
            routed, direct = getattr(router, name), getattr(async_path, name)
            assert inspect.signature(routed) == inspect.signature(direct), name
            assert routed.__doc__ == direct.__doc__
            assert routed.__name__ == name
            assert inspect.iscoroutinefunction(routed)

    async def test_service_view_has_the_same_signatures(self, router: PersistenceRouter) -> None:
        view = router.for_service("combat_service")
        for name in widget_registry().names():
            assert inspect.signature(getattr(view, name)) == inspect.signature(
                getattr(router, name)
            )

    def test_transaction_is_not_routed(self, router: PersistenceRouter) -> None:
        with pytest.raises(TransactionNotRoutedError, match="not routed"):
            router.transaction()

    def test_operation_missing_from_a_path_fails_at_construction(self, store: Store) -> None:
        registry = widget_registry()
        registry.register(Operation("widget", "explode", "write", None))
        with pytest.raises(ValueError, match=r"legacy\.explode, async\.explode"):
            PersistenceRouter(
                registry,
                legacy=LegacyWidgets(store),
                async_=AsyncWidgets(store),
                flags=FixedFlags(),
            )

    def test_key_naming_no_parameter_fails_at_construction(self, store: Store) -> None:
        registry = OperationRegistry([Operation("widget", "resize", "write", "widget.widget_id")])
        with pytest.raises(ValueError, match="key parameter"):
            PersistenceRouter(
                registry,
                legacy=LegacyWidgets(store),
                async_=AsyncWidgets(store),
                flags=FixedFlags(),
            )

    def test_operation_named_like_a_router_attribute_is_refused(self, store: Store) -> None:
        registry = OperationRegistry([Operation("widget", "close", "write", None)])
        with pytest.raises(ValueError, match="clash"):
            PersistenceRouter(registry, legacy=object(), async_=object(), flags=FixedFlags())


class TestDispatchPlugIn:
    """A strategy plugged in for one mode serves that mode in every view, and nothing else."""

    async def test_use_dispatch_replaces_one_mode(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store
    ) -> None:
        seen: list[tuple[str, str | None, tuple[Any, ...]]] = []

        async def both(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            seen.append((route.operation.name, route.service, args))
            control = await route.run_legacy(args, kwargs)
            await route.run_async(args, kwargs)
            return control

        router.use_dispatch("shadow", both)
        flags.modes["widget"] = "shadow"
        view = router.for_service("api")
        assert await view.get_widget_by_id("w1") is store.rows["w1"]
        flags.modes["widget"] = "legacy"
        await router.get_widget_by_id("w1")
        assert seen == [("get_widget_by_id", "api", ("w1",))]
        assert store.served == [
            ("legacy", "get_widget"),
            ("async", "get_widget_by_id"),
            ("legacy", "get_widget"),
        ]


class TestClose:
    """The router shuts down what it owns and only that."""

    async def test_owned_pool_is_shut_down(self, store: Store) -> None:
        router = make_router(store, FixedFlags())
        await router.close()
        await router.close()
        with pytest.raises(RuntimeError, match="shutdown"):
            await router.get_widget_by_id("w1")

    async def test_given_pool_is_left_running(self, store: Store) -> None:
        with ThreadPoolExecutor(2, thread_name_prefix="given") as executor:
            router = make_router(store, FixedFlags(), legacy_executor=executor)
            await router.get_widget_by_id("w1")
            await router.close()
            assert executor.submit(lambda: 1).result() == 1
        assert store.threads == ["given_0"]

    async def test_strategies_in_place_can_be_wrapped(
        self, router: PersistenceRouter, flags: FixedFlags, store: Store
    ) -> None:
        serve, serve_sync = router.strategies("legacy")
        calls: list[str] = []

        async def counted(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            calls.append(route.operation.name)
            return await serve(route, args, kwargs)

        router.use_dispatch("legacy", counted, sync=serve_sync)
        flags.modes["widget"] = "legacy"
        assert await router.get_widget_by_id("w1") is store.rows["w1"]
        assert router.strategies("legacy") == (counted, serve_sync)
        assert calls == ["get_widget_by_id"]
        assert store.served == [("legacy", "get_widget")]
