"""A shadowed read: the primary answers, then the shadow runs and the judge compares.

Nothing of the shadow is on the caller's path but the write watch's mark, the arguments'
copies (for a call that updates them) and the snapshot of the primary's value. The shadow
runs in a fresh context (it can never join a unit of work the caller has open) and takes a
slot; the two sides are not one snapshot, so the write watch decides whether the comparison
stands (``admission``). Async callers and the sync facade's callers (``shadow``: the legacy
primary in the caller's thread, the shadow on the router's background loop) are served side
by side here.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import time
from collections.abc import Mapping
from typing import Any

from routing.dispatch import Route
from routing.registry import Operation
from routing.shadowing.admission import Admission
from routing.shadowing.background import Background
from routing.shadowing.calibration import Calibration, compare_and_calibrate
from routing.shadowing.config import ShadowMode, Skip
from routing.shadowing.judge import Judge, snapshot
from routing.shadowing.plans import NO_READ, ReadPlan
from routing.shadowing.sides import (
    Args,
    Outcome,
    Unraced,
    call_later,
    in_pool,
    legacy_in_pool,
    private_arguments,
    settled,
    shadow_arguments,
    timed_async,
    timed_legacy,
)

__all__ = ["Reads"]

_clock = time.perf_counter


class Reads:
    """Serves the reads of ``shadow`` and ``live`` mode."""

    def __init__(
        self,
        plans: Mapping[str, ReadPlan],
        admission: Admission,
        judge: Judge,
        background: Background,
        calibration: Calibration | None = None,
    ) -> None:
        self._plans = plans
        self._admission = admission
        self._judge = judge
        self._background = background
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
        """One read for an async caller (or, in ``live``, for the facade on the loop thread)."""
        op = route.operation
        unraced = self._unraced(op, args, kwargs, legacy_keys)
        shadow_args, inputs = private_arguments(op, args, kwargs)
        if mode == "shadow":
            primary = await legacy_in_pool(route, args, kwargs, unraced)
        else:
            primary = await timed_async(lambda: route.async_(*args, **kwargs), unraced)
        compared = snapshot(self._with_arguments(op, primary, args))
        shadow = self._shadow_then_compare(route, shadow_args, mode, compared, inputs, unraced)
        return await self._background.answer(primary, self._background.spawn(shadow))

    def serve_shadow_sync(self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One read for a blocking caller in ``shadow``: the legacy primary in its thread."""
        op = route.operation
        unraced = self._unraced(op, args, kwargs, True)
        shadow_args, inputs = private_arguments(op, args, kwargs)
        primary = timed_legacy(call_later(route.legacy, args, kwargs), unraced)
        compared = snapshot(self._with_arguments(op, primary, args))
        shadow = self._shadow_then_compare(route, shadow_args, "shadow", compared, inputs, unraced)
        return self._background.answer_sync(primary, self._background.submit(shadow))

    async def _shadow_then_compare(
        self,
        route: Route,
        args: Args,
        mode: ShadowMode,
        primary: Outcome,
        inputs: Mapping[str, Any],
        unraced: Unraced | None,
    ) -> None:
        """After the caller was answered: run the shadow, then compare.

        The shadow starts once the primary is done, so it never competes with the primary
        for the loop, the pool or the CPU while the caller waits. The write watch's mark was
        taken before the primary began, so a write landing at any point until the shadow
        ends still makes the read ``raced``.
        """
        started = _clock()
        op = route.operation
        args = shadow_arguments(op, args)
        shadow = self._start_shadow(route, args, mode, unraced)
        shadow = self._with_shadow_arguments(op, shadow, args[0])
        await compare_and_calibrate(
            self._judge, self._calibration, (op, mode, primary, shadow, started, inputs),
            lambda: self._calibrate(route, mode, primary, inputs, unraced),
        )  # fmt: skip

    async def _calibrate(
        self,
        route: Route,
        mode: ShadowMode,
        primary: Outcome,
        inputs: Mapping[str, Any],
        unraced: Unraced | None,
    ) -> tuple[str, ...] | None:
        """On a sampled call, the A/A run of the primary's path; where the two runs differed.

        ``None`` if there was no A/A comparison.
        """
        calibration = self._calibration
        if calibration is None or not calibration.sampled(route.operation):
            return None
        args = calibration.arguments(route.operation, inputs)
        found = await calibration.run(
            route.operation, mode, primary,
            lambda swapped: self._start_shadow(route, args, swapped, unraced),
        )  # fmt: skip
        return None if found is None else found.diff_paths

    def _unraced(
        self, op: Operation, args: tuple[Any, ...], kwargs: dict[str, Any], legacy_keys: bool
    ) -> Unraced | None:
        watched = self._plans.get(op.name, NO_READ).watched(args, kwargs, legacy=legacy_keys)
        return self._admission.unraced(watched)

    def _start_shadow(
        self, route: Route, args: Args, mode: ShadowMode, unraced: Unraced | None
    ) -> asyncio.Future[Outcome]:
        loop = asyncio.get_running_loop()
        if not self._admission.slots.take(route.operation.name):
            return settled(loop, Outcome(skipped=Skip.SATURATED))
        sargs, skwargs = args
        shadow: asyncio.Future[Outcome]
        if mode == "shadow":
            coro = timed_async(lambda: route.async_(*sargs, **skwargs), unraced)
            shadow = loop.create_task(coro, context=contextvars.Context())
        else:
            call = call_later(route.legacy, sargs, skwargs)
            coro = in_pool(route, contextvars.Context(), timed_legacy, call, unraced)
            shadow = loop.create_task(coro)
        shadow.add_done_callback(self._admission.slots.give_back)
        return shadow

    def _with_arguments(self, op: Operation, outcome: Outcome, args: tuple[Any, ...]) -> Outcome:
        if not op.mutates_arguments:
            return outcome
        return self._judge.with_arguments(outcome, copy.deepcopy(args))

    def _with_shadow_arguments(
        self, op: Operation, shadow: asyncio.Future[Outcome], args: tuple[Any, ...]
    ) -> asyncio.Future[Outcome]:
        """A read that updates its arguments: compare their state after the call too."""
        if not op.mutates_arguments:
            return shadow

        async def then() -> Outcome:
            return self._judge.with_arguments(await shadow, args)

        return asyncio.ensure_future(then())
