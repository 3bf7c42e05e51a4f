"""``ShadowRunner``: serves ``shadow`` and ``live`` by running both paths and comparing them.

In ``shadow`` mode the legacy path answers and the async path is the shadow; in ``live``
the other way round. The caller gets the primary's value or its exception; nothing of the
shadow reaches the caller or the database. How reads and writes are run is in ``reads`` and
``writes``; the design, and why it is so, in ``docs/shadowing.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Iterable
from typing import Any

import structlog

from flags.model import Mode
from routing.chain import DispatchChain, Layer, Strategy
from routing.dispatch import Dispatch, Route, SyncDispatch
from routing.loop_thread import LoopThread
from routing.registry import OperationRegistry
from routing.router import PersistenceRouter, paths_of
from routing.shadowing.admission import Admission
from routing.shadowing.background import Background
from routing.shadowing.calibration import Calibration, CalibrationConfig
from routing.shadowing.checks import check_database, check_paths
from routing.shadowing.config import RunnerConfig, ShadowMode, Skip
from routing.shadowing.judge import CoverageSink, Engine, Judge
from routing.shadowing.plans import ShadowWrites, compile_plans, compile_reads
from routing.shadowing.reads import Reads
from routing.shadowing.transactions import AsyncPath, SyncPath
from routing.shadowing.writes import Paths, Writes

__all__ = ["ShadowRunner"]

SHADOW_MODES: tuple[ShadowMode, ...] = ("shadow", "live")


class ShadowRunner:
    """Runs both paths of each call in ``shadow`` and ``live`` mode."""

    def __init__(
        self,
        engine: Engine,
        registry: OperationRegistry,
        *,
        legacy: SyncPath,
        async_: AsyncPath,
        loop_thread: LoopThread,
        writes: ShadowWrites | None = None,
        config: RunnerConfig | None = None,
        coverage: CoverageSink | None = None,
        calibration: CalibrationConfig | None = None,
    ) -> None:
        self.config = config or RunnerConfig()
        declared = writes or ShadowWrites()
        self._loop_thread = loop_thread
        self._judge = Judge(
            engine, self.config.shadow_timeout_s, self.config.raise_on_divergence, coverage
        )
        if coverage is not None:
            coverage.know(((op.domain, op.name) for op in registry), [s.value for s in Skip])
        self._background = Background(loop_thread, self.config.raise_on_divergence)
        self.calibration = Calibration(calibration or CalibrationConfig(percent=0), self._judge)
        admission = Admission(self.config.max_shadows)
        self._declared = (registry, legacy, async_, declared)
        self._plans = compile_plans(registry, legacy, async_, declared)
        self._reads = Reads(
            compile_reads(registry, legacy, async_, declared),
            admission,
            self._judge,
            self._background,
            self.calibration,
        )
        self._writes = Writes(
            self._plans,
            Paths(legacy, async_, declared.already_open),
            admission,
            self._judge,
            self._background,
            self.config,
            self.calibration,
        )

    @classmethod
    def for_router(
        cls,
        router: PersistenceRouter,
        engine: Engine,
        writes: ShadowWrites | None = None,
        config: RunnerConfig | None = None,
        coverage: CoverageSink | None = None,
        calibration: CalibrationConfig | None = None,
    ) -> ShadowRunner:
        """A runner over the paths, registry and background loop of ``router``."""
        paths = paths_of(router)
        return cls(
            engine,
            paths.registry,
            legacy=paths.legacy,  # type: ignore[arg-type]
            async_=paths.async_,  # type: ignore[arg-type]
            loop_thread=paths.loop_thread,
            writes=writes,
            config=config,
            coverage=coverage,
            calibration=calibration,
        )

    async def check(self, conn: Any) -> None:
        """``DeclarationError`` unless every write declaration can be honoured (``checks``).

        ``conn`` is an asyncpg connection to the database both paths use: each capture is
        prepared and each restore planned there, so a missing table or column, a key without
        its cast, a misspelt read-back or a path without ``transaction()`` fails here, at
        start-up, rather than as false divergences.
        """
        check_paths(*self._declared)
        await check_database(self._plans, conn)

    @property
    def compared(self) -> int:
        """How many calls were handed to the engine."""
        return self._judge.compared

    @property
    def served(self) -> int:
        """How many calls were served in ``shadow`` or ``live``."""
        return self._judge.served

    @property
    def skipped(self) -> Counter[Skip]:
        """How many calls were not compared, by reason."""
        return self._judge.skipped

    def dispatch(self, mode: ShadowMode) -> Dispatch:
        """The async strategy for ``mode`` (``shadow`` or ``live``)."""
        _check_mode(mode)
        reads, writes, judge = self._reads, self._writes, self._judge

        def serve(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
            judge.serve(route.operation)
            if route.operation.kind == "read":
                return reads.serve(route, args, kwargs, mode, legacy_keys=False)
            return writes.serve(route, args, kwargs, mode, legacy_keys=False)

        return serve

    def sync_dispatch(self, mode: ShadowMode) -> SyncDispatch:
        """The blocking strategy for ``mode``, for the sync facade."""
        _check_mode(mode)
        return self._serve_live_sync if mode == "live" else self._serve_shadow_sync

    def chain(self, router: PersistenceRouter, outer: Iterable[Layer] = ()) -> DispatchChain:
        """The dispatch chain of ``router`` with this runner in it; the one place it is composed.

        ``legacy`` and ``async`` keep the router's own strategies and ``shadow`` and ``live``
        are this runner's; the write watch wraps ``legacy`` and ``async`` so their writes are
        heard; ``outer`` layers (the guard) wrap all of that, in the order given.
        """
        strategies: dict[Mode, Strategy] = {
            "legacy": Strategy("legacy", *router.strategies("legacy")),
            "async": Strategy("async", *router.strategies("async")),
        }
        for mode in SHADOW_MODES:
            strategies[mode] = Strategy(
                "shadow_runner", self.dispatch(mode), self.sync_dispatch(mode)
            )
        watch = Layer.over("write_watch", ("legacy", "async"), self.watching, self.watching_sync)
        return DispatchChain(strategies, (watch, *outer))

    def install(self, router: PersistenceRouter) -> None:
        """Serve ``router`` through :meth:`chain` (without outer layers)."""
        self.chain(router).install(router)

    def watching(self, serve: Dispatch) -> Dispatch:
        """A single-path strategy whose writes the write watch hears (``Writes.watching``)."""
        return self._writes.watching(serve)

    def watching_sync(self, serve: SyncDispatch) -> SyncDispatch:
        """The blocking twin of :meth:`watching`."""
        return self._writes.watching_sync(serve)

    async def drain(self, max_wait_s: float = 10.0) -> None:
        """Wait for every comparison still running (on every loop), up to ``max_wait_s``."""
        await self._background.drain(max_wait_s)

    async def stop(self, max_wait_s: float = 10.0) -> None:
        """Drain the comparisons still running (up to ``max_wait_s``), then cancel the rest."""
        await self._background.drain(max_wait_s)
        cancelled = await self._background.cancel_rest()
        structlog.get_logger().info("shadow.runner_stopped", cancelled=cancelled)

    def _serve_live_sync(self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._judge.serve(route.operation)
        side = self._reads if route.operation.kind == "read" else self._writes
        return self._loop_thread.run(
            _coroutine(side.serve(route, args, kwargs, "live", legacy_keys=True))
        )

    def _serve_shadow_sync(
        self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        self._judge.serve(route.operation)
        if route.operation.kind == "read":
            return self._reads.serve_shadow_sync(route, args, kwargs)
        return self._writes.serve_shadow_sync(route, args, kwargs)


def _check_mode(mode: str) -> None:
    """``ValueError`` unless ``mode`` is one the runner serves."""
    if mode not in SHADOW_MODES:
        raise ValueError(f"the shadow runner serves shadow and live, not {mode!r}")


async def _coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
