"""A shadowed write: applied once by the primary, replayed by the shadow and rolled back.

The primary runs in a unit of work of its own path: it captures (and locks) the rows the
write touches, writes, reads them back and commits. The caller is answered. In the
background the shadow restores the captured rows in a unit of work that is always rolled
back, writes, reads back, and the judge compares (``transactions``). Async callers and the
sync facade's callers are served side by side here.

Writes served by one path only (``legacy`` and ``async`` mode) pass through
:meth:`Writes.watching`: they are announced to the write watch and preempt the shadows of
their entities as a primary does, so a read of another domain racing them is not compared.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

from routing.dispatch import Dispatch, Route, SyncDispatch
from routing.shadowing.admission import Admission
from routing.shadowing.background import Background
from routing.shadowing.calibration import Calibration, compare_and_calibrate
from routing.shadowing.config import RunnerConfig, ShadowMode, Skip
from routing.shadowing.judge import Judge, snapshot
from routing.shadowing.plans import NO_PLAN, WritePlan
from routing.shadowing.preemption import EntityKey
from routing.shadowing.sides import (
    Args,
    Outcome,
    call_later,
    in_pool,
    in_thread,
    private_arguments,
    settled,
    shadow_arguments,
)
from routing.shadowing.transactions import (
    AlreadyOpen,
    AsyncPath,
    SyncPath,
    primary_write_async,
    primary_write_legacy,
    shadow_write_async,
    shadow_write_legacy,
)

__all__ = ["WriteCall", "Writes"]

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
    touched: list[EntityKey]


@dataclass(frozen=True, slots=True)
class Paths:
    """The two paths' transaction owners, and how they say a unit of work is already open."""

    legacy: SyncPath
    async_: AsyncPath
    already_open: AlreadyOpen = ()


class Writes:
    """Serves the writes of ``shadow`` and ``live`` mode, and watches the single-path ones."""

    def __init__(
        self,
        plans: Mapping[str, WritePlan],
        paths: Paths,
        admission: Admission,
        judge: Judge,
        background: Background,
        config: RunnerConfig,
        calibration: Calibration | None = None,
    ) -> None:
        self._plans = plans
        self._paths = paths
        self._admission = admission
        self._judge = judge
        self._background = background
        self._config = config
        self._calibration = calibration

    async def serve(
        self,
        route: Route,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        mode: ShadowMode,
        *,
        legacy_keys: bool,
    ) -> Any:
        """One write for an async caller (or, in ``live``, for the facade on the loop thread)."""
        call = self._prepare(route, args, kwargs, legacy_keys)
        with self._admission.primary_write(call.touched):
            primary = await self._primary(call, mode)
        if primary.skipped:
            self._judge.skip(primary.skipped, route.operation)
            return primary.result()
        comparison = self._background.spawn(self._shadow(call, snapshot(primary), mode))
        return await self._background.answer(primary, comparison)

    def serve_shadow_sync(self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One write for a blocking caller in ``shadow``: the legacy primary in its thread."""
        call = self._prepare(route, args, kwargs, True)
        capture = call.plan.capture(call.keys, "psycopg2")
        with self._admission.primary_write(call.touched):
            legacy = call_later(route.legacy, call.args, call.kwargs)
            primary = primary_write_legacy(
                self._paths.legacy, legacy, capture, self._paths.already_open
            )
        if primary.skipped:
            self._judge.skip(primary.skipped, route.operation)
            return primary.result()
        comparison = self._background.submit(self._shadow(call, snapshot(primary), "shadow"))
        return self._background.answer_sync(primary, comparison)

    def watching(self, serve: Dispatch) -> Dispatch:
        """``serve`` (the ``legacy`` or ``async`` strategy) with its writes announced."""

        def watched(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
            if route.operation.kind == "read":
                return serve(route, args, kwargs)
            return self._watched(serve, route, args, kwargs)

        return watched

    def watching_sync(self, serve: SyncDispatch) -> SyncDispatch:
        """The sync facade's blocking ``serve`` (legacy signatures), its writes announced."""

        def watched(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if route.operation.kind == "read":
                return serve(route, args, kwargs)
            with self._admission.primary_write(self._touched(route, args, kwargs, legacy=True)):
                return serve(route, args, kwargs)

        return watched

    async def _watched(
        self, serve: Dispatch, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        with self._admission.primary_write(self._touched(route, args, kwargs, legacy=False)):
            return await serve(route, args, kwargs)

    def _touched(
        self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], *, legacy: bool
    ) -> list[EntityKey]:
        plan = self._plans.get(route.operation.name, NO_PLAN)
        return plan.touched(plan.keys(args, kwargs, legacy=legacy))

    def _prepare(
        self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], legacy_keys: bool
    ) -> WriteCall:
        plan = self._plans.get(route.operation.name, NO_PLAN)
        if plan.prepare is not None:
            args, kwargs = plan.prepare(args, kwargs)
        shadow_args, inputs = private_arguments(route.operation, args, kwargs)
        keys = plan.keys(args, kwargs, legacy=legacy_keys)
        return WriteCall(route, plan, args, kwargs, shadow_args, inputs, keys, plan.touched(keys))

    async def _primary(self, call: WriteCall, mode: ShadowMode) -> Outcome:
        route, paths = call.route, self._paths
        if mode == "shadow":
            capture = call.plan.capture(call.keys, "psycopg2")
            legacy = call_later(route.legacy, call.args, call.kwargs)
            return await in_thread(
                route, primary_write_legacy, paths.legacy, legacy, capture, paths.already_open
            )
        capture = call.plan.capture(call.keys, "asyncpg")
        write = call_later(route.async_, call.args, call.kwargs)
        return await primary_write_async(paths.async_, write, capture, paths.already_open)

    async def _shadow(self, call: WriteCall, primary: Outcome, mode: ShadowMode) -> None:
        started = _clock()
        if not self._admission.slots.take(call.route.operation.name):
            self._judge.skip(Skip.SATURATED, call.route.operation)
            return
        shadow = self._start_shadow(call, primary, mode)
        shadow.add_done_callback(self._admission.slots.give_back)
        op = call.route.operation
        await compare_and_calibrate(
            self._judge, self._calibration, (op, mode, primary, shadow, started, call.inputs),
            lambda: self._calibrate(call, primary, mode),
        )  # fmt: skip

    async def _calibrate(
        self, call: WriteCall, primary: Outcome, mode: ShadowMode
    ) -> tuple[str, ...] | None:
        """On a sampled call, the A/A run: the primary's path again, rolled back.

        Where the two runs differed, or ``None`` if there was no A/A comparison.
        """
        calibration, op = self._calibration, call.route.operation
        if calibration is None or not calibration.sampled(op):
            return None
        second = dataclasses.replace(call, shadow_args=calibration.arguments(op, call.inputs))

        def start(swapped: ShadowMode) -> asyncio.Future[Outcome]:
            if not self._admission.slots.take():
                return settled(asyncio.get_running_loop(), Outcome(skipped=Skip.SATURATED))
            shadow = self._start_shadow(second, primary, swapped)
            shadow.add_done_callback(self._admission.slots.give_back)
            return shadow

        found = await calibration.run(op, mode, primary, start)
        return None if found is None else found.diff_paths

    def _start_shadow(
        self, call: WriteCall, primary: Outcome, mode: ShadowMode
    ) -> asyncio.Future[Outcome]:
        loop = asyncio.get_running_loop()
        route, config = call.route, self._config
        sargs, skwargs = shadow_arguments(route.operation, call.shadow_args)
        if mode == "shadow":
            capture = call.plan.capture(call.keys, "asyncpg")
            write = call_later(route.async_, sargs, skwargs)

            def attempt() -> Awaitable[Outcome]:
                return shadow_write_async(self._paths.async_, write, capture, primary.pre, config)

            coro = self._admission.preemptible(attempt, call.touched)
            return loop.create_task(coro, context=contextvars.Context())
        capture = call.plan.capture(call.keys, "psycopg2")
        write = call_later(route.legacy, sargs, skwargs)
        timed = in_pool(
            route, contextvars.Context(), shadow_write_legacy, self._paths.legacy, write,
            capture, primary.pre, config,
        )  # fmt: skip
        return loop.create_task(timed, context=contextvars.Context())
