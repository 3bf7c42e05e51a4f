"""What one side of a shadowed call ended with, and how one side is run and timed."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from routing.dispatch import Route
from routing.registry import Operation
from routing.shadowing.config import Skip
from routing.shadowing.rows import Captured

__all__ = [
    "Args",
    "Outcome",
    "Unraced",
    "call_later",
    "in_pool",
    "in_thread",
    "legacy_in_pool",
    "private_arguments",
    "settled",
    "shadow_arguments",
    "timed_async",
    "timed_legacy",
]

#: A call's positional and keyword arguments.
Args = tuple[tuple[Any, ...], dict[str, Any]]
#: Asked as a read's side ends: true if no write of what it read landed meanwhile.
Unraced = Callable[[], bool]

_clock = time.perf_counter


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one path did for one call, before it becomes an ``Observation``.

    ``pre`` and ``after`` are the captured rows before and after a write; ``skipped`` says
    why there is nothing to compare; ``arguments`` is the state of the arguments after a
    call that updates them.
    """

    value: Any = None
    error: BaseException | None = None
    duration_s: float = 0.0
    pre: Captured | None = None
    after: Captured | None = None
    events: tuple[object, ...] = ()
    skipped: Skip | None = None
    arguments: Any = None
    timed_out: bool = False

    def result(self) -> Any:
        """The value, or raise the error (what the caller gets)."""
        if self.error is not None:
            raise self.error
        return self.value


async def timed_async(
    call: Callable[[], Awaitable[Any]], unraced: Unraced | None = None
) -> Outcome:
    """Await ``call()``: its value or exception, and how long it took.

    ``unraced()`` is asked the moment the call is over: false marks the outcome ``raced``.
    """
    started = _clock()
    try:
        value = await call()
    except Exception as exc:
        return _checked(Outcome(error=exc, duration_s=_clock() - started), unraced)
    return _checked(Outcome(value, duration_s=_clock() - started), unraced)


def timed_legacy(call: Callable[[], Any], unraced: Unraced | None = None) -> Outcome:
    """Call ``call()``: its value or exception, and how long it took (``unraced`` as above)."""
    started = _clock()
    try:
        value = call()
    except Exception as exc:
        return _checked(Outcome(error=exc, duration_s=_clock() - started), unraced)
    return _checked(Outcome(value, duration_s=_clock() - started), unraced)


def _checked(outcome: Outcome, unraced: Unraced | None) -> Outcome:
    if unraced is None or unraced():
        return outcome
    return dataclasses.replace(outcome, skipped=Skip.RACED)


def settled(loop: asyncio.AbstractEventLoop, outcome: Outcome) -> asyncio.Future[Outcome]:
    """A future that already holds ``outcome``."""
    future: asyncio.Future[Outcome] = loop.create_future()
    future.set_result(outcome)
    return future


def private_arguments(
    op: Operation, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Args, Mapping[str, Any]]:
    """The arguments as the call got them, and the inputs to record.

    For a call that updates its arguments they are one deep copy, taken on the caller's
    path before the primary runs; the inputs refer to it, and the shadow gets its own copy
    of it later (:func:`shadow_arguments`), off the caller's path.
    """
    if not op.mutates_arguments:
        return (args, kwargs), {"args": args, "kwargs": kwargs}
    pristine = copy.deepcopy((args, kwargs))
    return pristine, {"args": pristine[0], "kwargs": pristine[1]}


def shadow_arguments(op: Operation, pristine: Args) -> Args:
    """The shadow's own arguments: a copy of ``pristine`` if the call updates them."""
    return copy.deepcopy(pristine) if op.mutates_arguments else pristine


def call_later(
    method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Callable[[], Any]:
    """``method`` with its arguments, to call later."""
    return lambda: method(*args, **kwargs)


async def legacy_in_pool(
    route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], unraced: Unraced | None
) -> Outcome:
    """The legacy method in the route's pool, timed."""
    return await in_thread(route, timed_legacy, call_later(route.legacy, args, kwargs), unraced)


async def in_thread(route: Route, fn: Callable[..., Outcome], *args: Any) -> Outcome:
    """``fn(*args)`` in the route's legacy pool, with the caller's contextvars."""
    return await in_pool(route, contextvars.copy_context(), fn, *args)


async def in_pool(
    route: Route, context: contextvars.Context, fn: Callable[..., Outcome], *args: Any
) -> Outcome:
    """``fn(*args)`` in the legacy pool; its time is the call's own plus the waits around it.

    The legacy path, as an async caller meets it, includes the wait for a pool thread and the
    hop back to the loop, as the async path's time includes waiting for the loop. Only the
    call ``fn`` timed is counted, not the capture, read-back or commit it does around it, so
    both sides of a pair time the same thing.
    """
    submitted = _clock()
    loop = asyncio.get_running_loop()

    def run() -> tuple[Outcome, float, float]:
        began = _clock()
        outcome = context.run(fn, *args)
        return outcome, began, _clock()

    outcome, began, ended = await loop.run_in_executor(route.executor, run)
    waited = (began - submitted) + (_clock() - ended)
    return dataclasses.replace(outcome, duration_s=outcome.duration_s + waited)
