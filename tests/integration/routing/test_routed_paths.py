"""Every MUD operation, routed to either real path, returns what that path returns directly."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from typing import Any

import pytest

from app.operations import LEGACY_NAMES, build_registry
from flags.model import Mode
from routing import PersistenceRouter, TransactionNotRoutedError
from tests.integration.routing.conftest import AllDomains
from tests.integration.routing.recorder import Recorder
from tests.integration.routing.scenario import Call, Run, World, run_scenario

pytestmark = pytest.mark.integration

_runs = itertools.count()


def legacy_direct(legacy: Any) -> Call:
    async def call(name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(legacy, LEGACY_NAMES.get(name, name))
        return await asyncio.to_thread(method, *args, **kwargs)

    return call


def async_direct(layer: Any) -> Call:
    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(layer, name)(*args, **kwargs)

    return call


def routed(router: PersistenceRouter) -> Call:
    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(router, name)(*args, **kwargs)

    return call


async def scenario(call: Call, world: World) -> Run:
    n = next(_runs)
    users = tuple(world.free_user_ids[2 * n : 2 * n + 2])
    return await run_scenario(call, world, f"r{n}x", users)


class TestEveryOperation:
    """The scenario covers the registry, and routing changes nothing in its results."""

    @pytest.mark.parametrize(
        ("mode", "path"),
        [("legacy", "legacy"), ("shadow", "legacy"), ("live", "async"), ("async", "async")],
    )
    async def test_routed_equals_direct(
        self, legacy: Any, async_layer: Any, world: World, mode: Mode, path: str
    ) -> None:
        served: list[tuple[str, str]] = []
        router = PersistenceRouter(
            build_registry(),
            legacy=Recorder(legacy, "legacy", served),
            async_=Recorder(async_layer, "async", served),
            flags=AllDomains(mode),
            legacy_threads=4,
        )
        try:
            through_router = await scenario(routed(router), world)
        finally:
            await router.close()
        direct = legacy_direct(legacy) if path == "legacy" else async_direct(async_layer)
        directly = await scenario(direct, world)
        assert through_router.called == build_registry().names()
        assert through_router.results == directly.results
        assert {p for p, name in served if name != "close"} == {path}

    async def test_service_view_routes_the_same(
        self, router: PersistenceRouter, flags: AllDomains, async_layer: Any, world: World
    ) -> None:
        flags.mode = "async"
        through_view = await scenario(routed(router.for_service("combat_service")), world)
        directly = await scenario(async_direct(async_layer), world)
        assert through_view.results == directly.results

    async def test_one_decision_per_call(
        self, router: PersistenceRouter, flags: AllDomains, world: World
    ) -> None:
        run = await scenario(routed(router), world)
        assert flags.calls == len(run.results) - 2  # two entries are not calls


class TestSurface:
    """The router is a drop-in for AsyncPersistenceLayer."""

    async def test_same_operation_methods(
        self, router: PersistenceRouter, async_layer: Any
    ) -> None:
        lifecycle = {"start", "close", "transaction", "database", "repos", "event_bus"}
        layer_methods = {n for n in dir(async_layer) if not n.startswith("_")} - lifecycle
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
        router_methods = {n for n in dir(router) if not n.startswith("_")} - own
        assert router_methods == layer_methods

    async def test_same_signatures(self, router: PersistenceRouter, async_layer: Any) -> None:
        for op in router.registry:
            routed_method, direct = getattr(router, op.name), getattr(async_layer, op.name)
            assert inspect.signature(routed_method) == inspect.signature(direct), op.name
            assert routed_method.__doc__ == direct.__doc__
            assert inspect.iscoroutinefunction(routed_method)

    async def test_transaction_refused(self, router: PersistenceRouter) -> None:
        with pytest.raises(TransactionNotRoutedError):
            router.transaction()
