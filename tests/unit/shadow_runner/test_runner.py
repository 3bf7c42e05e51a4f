"""The runner over in-memory paths: who answers, what the shadow may not do, what is seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from routing import Operation, OperationRegistry, PersistenceRouter
from routing.shadowing import RunnerConfig, ShadowRunner
from shadow.engine import DivergenceError
from shadow.normalise import normalise
from tests.unit.shadow_runner.fakes import (
    Async,
    Coverage,
    Engine,
    Flags,
    Legacy,
    Player,
    Store,
)

pytestmark = pytest.mark.unit

OPERATIONS = [
    Operation("player", "get_player_by_id", "read", "player_id", legacy_name="get_player"),
    Operation("health", "damage_player", "write", "player.id", mutates_arguments=True),
]
Build = Callable[..., tuple[PersistenceRouter, Engine, Store]]


@pytest.fixture
async def build() -> AsyncIterator[Build]:
    routers: list[PersistenceRouter] = []

    def make(
        mode: str = "shadow",
        *,
        mismatched: bool = False,
        max_shadows: int = 16,
        coverage: Coverage | None = None,
        **async_options: Any,
    ) -> Any:
        store, engine = Store(), Engine(mismatched)
        router = PersistenceRouter(
            OperationRegistry(OPERATIONS),
            legacy=Legacy(store),
            async_=Async(store, **async_options),
            flags=Flags(mode),  # type: ignore[arg-type]
            legacy_threads=2,
        )
        config = RunnerConfig(
            shadow_timeout_s=0.1, raise_on_divergence=mismatched, max_shadows=max_shadows
        )
        runner = ShadowRunner.for_router(router, engine, config=config, coverage=coverage)
        for served in ("shadow", "live"):
            router.use_dispatch(served, runner.dispatch(served), sync=runner.sync_dispatch(served))
        router.runner = runner  # type: ignore[attr-defined]
        routers.append(router)
        return router, engine, store

    yield make
    for router in routers:
        await router.runner.drain()  # type: ignore[attr-defined]
        await router.close()


class TestReads:
    """The primary answers; the shadow is only observed."""

    async def test_primary_answers_and_shadow_errors_stay_hidden(self, build: Build) -> None:
        router, engine, _store = build(error=RuntimeError("shadow broke"))
        assert await router.get_player_by_id("p1") == Player("p1", 100)
        await router.runner.drain()  # type: ignore[attr-defined]
        [seen] = engine.seen
        # The engine sees the primary's value as plain data, frozen before the caller got it.
        assert seen.primary.path == "legacy"
        assert seen.primary.value == normalise(Player("p1", 100))
        assert seen.shadow.path == "async" and isinstance(seen.shadow.error, RuntimeError)

    async def test_a_slow_shadow_times_out_without_delaying_the_caller(self, build: Build) -> None:
        router, engine, _store = build(delay=1.0)
        started = time.perf_counter()
        await router.get_player_by_id("p1")
        assert time.perf_counter() - started < 0.5
        await router.runner.drain()  # type: ignore[attr-defined]
        assert [s.timed_out for s in engine.seen] == [True]

    async def test_live_mode_answers_from_the_async_path(self, build: Build) -> None:
        router, engine, _store = build("live")
        await router.get_player_by_id("p1")
        await router.runner.drain()  # type: ignore[attr-defined]
        assert [(s.primary.path, s.shadow.path) for s in engine.seen] == [("async", "legacy")]

    async def test_sync_callers_are_served_too(self, build: Build) -> None:
        router, engine, _store = build()
        assert await asyncio.to_thread(router.sync.get_player, "p1") == Player("p1", 100)
        await router.runner.drain()  # type: ignore[attr-defined]
        assert len(engine.seen) == 1


class TestWrites:
    """Applied and published once; the shadow's unit of work is rolled back.

    (That the shadow starts from the primary's starting rows needs real rows to restore:
    see ``tests/integration/shadow_runner``.)
    """

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    async def test_once(self, build: Build, mode: str) -> None:
        router, engine, store = build(mode)
        player = Player("p1", 100)
        assert await router.damage_player(player, 7) == 93
        await router.runner.drain()  # type: ignore[attr-defined]
        assert (store.hp, store.commits, player.hp) == (93, 1, 93)
        assert store.published == [("HPChanged", "p1", 93)]
        [seen] = engine.seen
        assert seen.primary.events == (("HPChanged", "p1", 93),)
        # no rows are declared here, so nothing is restored: the shadow wrote on top of the
        # primary's commit, in a unit of work that was rolled back and published nothing
        assert seen.shadow.events == (("HPChanged", "p1", 86),)

    async def test_sync_write_once(self, build: Build) -> None:
        router, _engine, store = build()
        await asyncio.to_thread(router.sync.damage_player, Player("p1"), 5)
        await router.runner.drain()  # type: ignore[attr-defined]
        assert (store.hp, store.commits, len(store.published)) == (95, 1, 1)


class TestCoverage:
    """Every call served in shadow or live is counted, and each one not compared with why."""

    async def test_every_operation_and_reason_is_made_known(self, build: Build) -> None:
        coverage = Coverage()
        build(coverage=coverage)
        operations, reasons = coverage.known
        assert operations == [("player", "get_player_by_id"), ("health", "damage_player")]
        assert "saturated" in reasons and "restore_failed" in reasons

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    async def test_served_compared_and_skipped_add_up(self, build: Build, mode: str) -> None:
        coverage = Coverage()
        router, engine, _store = build(mode, max_shadows=0, coverage=coverage)
        await router.get_player_by_id("p1")
        await router.damage_player(Player("p1"), 5)
        await router.runner.drain()  # type: ignore[attr-defined]
        assert coverage.calls == {("player", "get_player_by_id"): 1, ("health", "damage_player"): 1}
        assert coverage.skips == {
            ("player", "get_player_by_id", "saturated"): 1,
            ("health", "damage_player", "saturated"): 1,
        }
        assert engine.seen == []

    async def test_the_blocking_facade_is_counted_too(self, build: Build) -> None:
        coverage = Coverage()
        router, engine, _store = build(coverage=coverage)
        await asyncio.to_thread(router.sync.get_player, "p1")
        await router.runner.drain()  # type: ignore[attr-defined]
        assert coverage.calls == {("player", "get_player_by_id"): 1}
        assert len(engine.seen) == 1 and coverage.skips == {}


class TestTestMode:
    """With raise_on_divergence a divergence raises in the caller."""

    async def test_raises(self, build: Build) -> None:
        router, _engine, _store = build(mismatched=True)
        with pytest.raises(DivergenceError):
            await router.get_player_by_id("p1")
