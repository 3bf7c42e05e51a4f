"""``ShadowRunner``: serves ``shadow`` and ``live`` by running both paths and comparing them.

In ``shadow`` mode the legacy path is the primary (it answers) and the async path the shadow;
in ``live`` mode the other way round. The caller always gets the primary's value, or its
exception; nothing of the shadow (its exceptions, its slowness, its events, its writes)
reaches the caller or the database. ``runner.install(router)`` plugs it in: it serves
``shadow`` and ``live``, and wraps ``legacy`` and ``async`` so that their writes are heard
(``routing.shadowing.writes``).

Reads
    Both paths start at once; the shadow in a fresh context (so it can never join a unit of
    work the caller has open). The caller is answered as soon as the primary finishes; a
    background task (strongly referenced until done) waits for the shadow, at most
    ``shadow_timeout_s`` from its start, and hands both observations to the shadow engine.
    The two reads are not one snapshot, so a read is compared only if no write of what it
    read (the entity, or for lists the whole kind) was in flight or ended while either side
    ran; otherwise it is a counted skip, ``raced`` (``write_watch``). Every write this
    process routes is seen, whatever its domain's mode (``routing.shadowing.writes``); a write
    from another process that lands between the two reads can show up as a divergence.

Writes: applied exactly once, compared without false divergences, nobody waits on the shadow
    1. The primary runs in a unit of work of its own path. Its first statement captures the
       rows the write touches (the operation's entity, e.g. the player's row; declared in
       ``app.operations``) with ``FOR UPDATE``: no other writer can change them until it
       commits, so the captured rows are exactly the state the write applies to. Then the
       write; then the same rows read back in the same transaction (its effects: every stored
       column, not only what the model shows) and the unit's events; then commit, which
       publishes the events once. The caller is answered.
    2. In the background, the shadow path opens a unit of work that is ALWAYS rolled back.
       It reads from one REPEATABLE READ snapshot (a writer that commits while the shadow
       runs is a serialization failure, retried like a lock, never a row the restore did not
       see), sets ``lock_timeout`` to 1 ms (it never waits on a lock, so it never queues ahead
       of a primary) and ``statement_timeout``, restores the captured rows (the primary's
       starting state, so a non-idempotent write such as damage is compared like for like
       even if other writes committed since), applies its write, reads the rows back, takes
       the unit's events, and rolls back. Its events are never published; its rows never
       committed.
    3. Primaries come first (``preemption``): a primary write that starts cancels the
       async shadows holding its entity's rows (their transaction rolls back at once), and a
       shadow does not start while a primary of its entity is in flight. A shadow that finds
       a lock taken retries a few times over ~80 ms, then gives up. Every such case is a
       counted skip (``preempted``, ``locked``), never a divergence.

    Why this order: the shadow cannot run before the primary without the caller waiting for
    it, nor inside the primary's transaction (another connection, another driver), and a
    shadow applied to the state after the primary's commit would double-apply non-idempotent
    writes. Restoring the captured state inside a rolled-back transaction gives the shadow
    the primary's starting state whenever it runs.

    What is left of "never waits on the shadow": a shadow holds the restored rows for its own
    short transaction. A primary of this process cancels it and waits for one rollback; a
    primary of another process, or one whose shadow runs on the legacy path (a thread, which
    cannot be cancelled), waits until the shadow ends, at most ``write_hold_ms`` (after which
    the async shadow is cancelled, and the legacy shadow's statements time out).

    Writes with no entity to capture (``save_players``, a key that is not valid) compare
    result, error and events; a call made while the caller has a unit of work open on the
    primary path runs inside it, unshadowed (counted as skipped).

Load
    At most ``max_shadows`` shadows run at once; beyond that a call runs unshadowed (counted,
    ``saturated``) rather than queueing shadows until they time out.

Arguments
    Calls that update an argument (``mutates_arguments``) give the shadow its own deep copy,
    taken before either path runs; the primary works on the caller's objects, so they end up
    exactly as the primary left them. A read that updates its argument
    (``validate_and_fix_player_room``) has the argument's state compared too; a write is
    compared through its result and its stored rows.

Test mode
    With ``raise_on_divergence`` the caller waits for the comparison too, and a divergence
    raises :class:`~shadow.engine.DivergenceError` in the caller.

Sync callers (the facade)
    ``shadow``: the legacy primary runs in the caller's thread; the shadow and the comparison
    run on the router's background loop. ``live``: the whole async dispatch runs on that
    loop (the async primary there, the legacy shadow in the router's thread pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import time
from collections import Counter
from collections.abc import Awaitable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from routing.dispatch import Dispatch, Route, SyncDispatch
from routing.loop_thread import LoopThread
from routing.registry import Operation, OperationRegistry
from routing.shadowing.config import (
    Args,
    Engine,
    RunnerConfig,
    Slots,
    await_legacy,
    bound,
    check_mode,
    copies,
    in_pool,
    in_thread,
    ready,
)
from routing.shadowing.judge import Observer, snapshot
from routing.shadowing.plans import (
    NO_PLAN,
    NO_READ,
    ShadowWrites,
    WritePlan,
    compile_plans,
    compile_reads,
)
from routing.shadowing.preemption import Preemption
from routing.shadowing.reads import SyncServing
from routing.shadowing.transactions import (
    Done,
    Limits,
    Probe,
    primary_write_async,
    primary_write_legacy,
    shadow_write_async,
    shadow_write_legacy,
    timed_async,
    timed_legacy,
)
from routing.shadowing.write_watch import WriteWatch
from routing.shadowing.writes import WatchedWrites

__all__ = ["Engine", "RunnerConfig", "ShadowRunner"]

_clock = time.perf_counter


@dataclass(frozen=True, slots=True)
class WriteCall:
    """One write, made ready for both paths: settled arguments, copies, keys, entities."""

    route: Route
    plan: WritePlan
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    shadow_args: Args
    inputs: Mapping[str, Any]
    keys: tuple[str, ...] | None
    touched: list[tuple[str, str | None]]


class ShadowRunner(SyncServing, WatchedWrites):
    """Runs both paths of each call in ``shadow`` and ``live`` mode; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        registry: OperationRegistry,
        *,
        legacy: Any,
        async_: Any,
        loop_thread: LoopThread,
        writes: ShadowWrites | None = None,
        config: RunnerConfig | None = None,
    ) -> None:
        self.config = config or RunnerConfig()
        self.legacy = legacy
        self.async_ = async_
        self.skipped: Counter[str] = Counter()
        self._observer = Observer(
            engine, self.config.shadow_timeout_s, self.config.raise_on_divergence
        )
        self._loop_thread = loop_thread
        writes = writes or ShadowWrites()
        self._plans = compile_plans(registry, legacy, async_, writes)
        self._reads = compile_reads(registry, legacy, async_, writes)
        self._watch = WriteWatch()
        self._slots = Slots(self.config.max_shadows)
        self._preemption = Preemption()
        self._tasks: dict[asyncio.AbstractEventLoop, set[asyncio.Future[Any]]] = {}
        self._submitted: set[Future[None]] = set()

    @classmethod
    def for_router(
        cls,
        router: Any,
        engine: Engine,
        writes: ShadowWrites | None = None,
        config: RunnerConfig | None = None,
    ) -> ShadowRunner:
        """A runner over the paths, registry and background loop of ``router``."""
        paths = router._paths
        return cls(
            engine,
            paths.registry,
            legacy=paths.legacy,
            async_=paths.async_,
            loop_thread=paths.loop_thread,
            writes=writes,
            config=config,
        )

    def install(self, router: Any) -> None:
        """Serve ``shadow`` and ``live`` on ``router``, and hear the writes of the other modes.

        ``legacy`` and ``async`` keep the strategies in place, wrapped so that their writes
        reach the write watch (``routing.shadowing.writes``).
        """
        for mode in ("shadow", "live"):
            router.use_dispatch(mode, self.dispatch(mode), sync=self.sync_dispatch(mode))
        for mode in ("legacy", "async"):
            serve, serve_sync = router.strategies(mode)
            router.use_dispatch(mode, self.watching(serve), sync=self.watching_sync(serve_sync))

    @property
    def compared(self) -> int:
        """How many calls were handed to the engine."""
        return self._observer.compared

    # --- the strategies the router plugs in ------------------------------------------------

    def dispatch(self, mode: str) -> Dispatch:
        """The async strategy for ``mode`` (``shadow`` or ``live``)."""
        check_mode(mode)

        def serve(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
            if route.operation.kind == "read":
                return self._read(route, args, kwargs, mode, legacy_keys=False)
            return self._write(route, args, kwargs, mode, legacy_keys=False)

        return serve

    def sync_dispatch(self, mode: str) -> SyncDispatch:
        """The blocking strategy for ``mode``, for the sync facade."""
        check_mode(mode)
        return self._serve_live_sync if mode == "live" else self._serve_shadow_sync

    async def drain(self, max_wait_s: float = 10.0) -> None:
        """Wait for every comparison still running (on every loop), up to ``max_wait_s``."""
        waits: list[asyncio.Future[None]] = [asyncio.wrap_future(f) for f in list(self._submitted)]
        for loop in list(self._tasks):
            if loop is asyncio.get_running_loop():
                waits.append(asyncio.ensure_future(self._drain_here()))
            elif loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self._drain_here(), loop)
                waits.append(asyncio.wrap_future(future))
        if waits:
            await asyncio.wait(waits, timeout=max_wait_s)

    async def _drain_here(self) -> None:
        while pending := self._tasks.get(asyncio.get_running_loop()):
            await asyncio.wait(list(pending))

    # --- reads ---------------------------------------------------------------------------

    async def _read(
        self,
        route: Route,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        mode: str,
        *,
        legacy_keys: bool,
    ) -> Any:
        op = route.operation
        probe = self._probe(op, args, kwargs, legacy_keys)
        shadow_args, inputs = copies(op, args, kwargs)
        started = _clock()
        shadow = self._start_shadow_read(route, shadow_args, mode, probe)
        shadow = self._shadow_arguments(op, shadow, shadow_args[0])
        if mode == "shadow":
            primary = await await_legacy(route, args, kwargs, probe)
        else:
            primary = await timed_async(lambda: route.async_(*args, **kwargs), probe)
        primary = self._with_arguments(op, primary, args)
        compared = snapshot(primary)
        compare = self._observer.compare(op, mode, compared, shadow, started, inputs, self.skipped)
        return await self._answer(primary, self._spawn(compare))

    def _probe(
        self, op: Operation, args: tuple[Any, ...], kwargs: dict[str, Any], legacy_keys: bool
    ) -> Probe | None:
        """Asks, as each side ends, whether a write of what this read reads landed meanwhile."""
        watched = self._reads.get(op.name, NO_READ).watched(args, kwargs, legacy=legacy_keys)
        if not watched:
            return None
        mark = self._watch.mark(watched)
        return lambda: self._watch.quiet(mark)

    def _start_shadow_read(
        self, route: Route, args: Args, mode: str, probe: Probe | None
    ) -> asyncio.Future[Done]:
        loop = asyncio.get_running_loop()
        if not self._slots.take():
            return ready(loop, Done(skipped="saturated"))
        sargs, skwargs = args
        shadow: asyncio.Future[Done]
        if mode == "shadow":
            coro = timed_async(lambda: route.async_(*sargs, **skwargs), probe)
            shadow = loop.create_task(coro, context=contextvars.Context())
        else:
            call = bound(route.legacy, sargs, skwargs)
            coro = in_pool(route, contextvars.Context(), timed_legacy, call, probe)
            shadow = loop.create_task(coro)
        shadow.add_done_callback(self._slots.give_back)
        return shadow

    # --- writes --------------------------------------------------------------------------

    async def _write(
        self,
        route: Route,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        mode: str,
        *,
        legacy_keys: bool,
    ) -> Any:
        call = self._write_call(route, args, kwargs, legacy_keys)
        with self._primary_window(call.touched):
            if mode == "shadow":
                capture = call.plan.capture(call.keys, "psycopg2")
                legacy = bound(route.legacy, call.args, call.kwargs)
                primary = await in_thread(route, primary_write_legacy, self.legacy, legacy, capture)
            else:
                capture = call.plan.capture(call.keys, "asyncpg")
                primary = await primary_write_async(
                    self.async_, lambda: route.async_(*call.args, **call.kwargs), capture
                )
        if primary.skipped:
            self.skipped[primary.skipped] += 1
            return primary.result()
        compared = snapshot(primary)
        return await self._answer(primary, self._spawn(self._shadow_write(call, compared, mode)))

    def _write_call(
        self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], legacy_keys: bool
    ) -> WriteCall:
        plan = self._plans.get(route.operation.name, NO_PLAN)
        if plan.prepare is not None:
            args, kwargs = plan.prepare(args, kwargs)
        shadow_args, inputs = copies(route.operation, args, kwargs)
        keys = plan.keys(args, kwargs, legacy=legacy_keys)
        return WriteCall(route, plan, args, kwargs, shadow_args, inputs, keys, plan.touched(keys))

    @contextlib.contextmanager
    def _primary_window(self, touched: list[tuple[str, str | None]]) -> Iterator[None]:
        """While a primary writes: reads of its entities are not compared, shadows give way."""
        self._watch.begin(touched)
        self._preemption.preempt(touched)
        try:
            yield
        finally:
            self._watch.end(touched)

    async def _shadow_write(self, call: WriteCall, primary: Done, mode: str) -> None:
        started = _clock()
        if not self._slots.take():
            self.skipped["saturated"] += 1
            return
        shadow = self._start_shadow_write(call, primary, mode)
        shadow.add_done_callback(self._slots.give_back)
        op = call.route.operation
        await self._observer.compare(op, mode, primary, shadow, started, call.inputs, self.skipped)

    def _start_shadow_write(
        self, call: WriteCall, primary: Done, mode: str
    ) -> asyncio.Future[Done]:
        loop = asyncio.get_running_loop()
        route, (sargs, skwargs) = call.route, call.shadow_args
        limits = Limits(self.config.lock_timeout_ms, self.config.write_hold_ms)
        if mode == "shadow":
            capture = call.plan.capture(call.keys, "asyncpg")

            def attempt() -> Awaitable[Done]:
                write = lambda: route.async_(*sargs, **skwargs)  # noqa: E731
                return shadow_write_async(self.async_, write, capture, primary.pre, limits)

            busy = lambda: self._watch.busy(call.touched)  # noqa: E731
            coro = self._preemption.run(attempt, call.touched, busy)
            return loop.create_task(coro, context=contextvars.Context())
        capture = call.plan.capture(call.keys, "psycopg2")
        write = bound(route.legacy, sargs, skwargs)
        return loop.run_in_executor(
            route.executor, contextvars.Context().run, shadow_write_legacy, self.legacy, write,
            capture, primary.pre, limits,
        )  # fmt: skip

    # --- plumbing ------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(coro)
        tasks = self._tasks.setdefault(loop, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    async def _answer(self, primary: Done, comparison: asyncio.Future[None]) -> Any:
        if self.config.raise_on_divergence:
            await comparison
        return primary.result()

    def _with_arguments(self, op: Operation, done: Done, args: tuple[Any, ...]) -> Done:
        if not op.mutates_arguments:
            return done
        return self._observer.with_arguments(done, copy.deepcopy(args))

    def _shadow_arguments(
        self, op: Operation, shadow: asyncio.Future[Done], args: tuple[Any, ...]
    ) -> asyncio.Future[Done]:
        """A read that updates its arguments: compare their state after the call too."""
        if not op.mutates_arguments:
            return shadow

        async def then() -> Done:
            return self._observer.with_arguments(await shadow, args)

        return asyncio.ensure_future(then())
