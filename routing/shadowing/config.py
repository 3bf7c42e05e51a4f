"""The shadow runner's small parts: its configuration, its engine, its slots, its helpers."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from routing.dispatch import Route
from routing.registry import Operation
from routing.shadowing.transactions import Done, Probe, timed_legacy

__all__ = [
    "Args",
    "Engine",
    "RunnerConfig",
    "Slots",
    "await_legacy",
    "bound",
    "check_mode",
    "copies",
    "in_thread",
    "ready",
]

Args = tuple[tuple[Any, ...], dict[str, Any]]


class Engine(Protocol):
    """The shadow engine, as the runner uses it (``shadow.engine.ShadowEngine`` fits)."""

    def observe(
        self,
        operation: Any,
        primary: Any,
        shadow: Any,
        *,
        mode: str,
        inputs: Mapping[str, Any] | None = None,
        timed_out: bool = False,
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """How the runner treats its shadows.

    ``shadow_timeout_s``: a shadow's time budget from its start. ``lock_timeout_ms``: how long
    a shadow write may wait for a lock (1 ms: in effect, never). ``write_hold_ms``: how long
    a shadow write may hold the rows it restored. ``raise_on_divergence``: test mode, the
    caller waits for the comparison. ``max_shadows``: how many shadows may run at once; more
    are skipped (``saturated``) rather than queued until they time out.
    """

    shadow_timeout_s: float = 2.0
    lock_timeout_ms: int = 1
    raise_on_divergence: bool = False
    max_shadows: int = 16
    write_hold_ms: int = 250


class Slots:
    """A count of shadows running, from any thread, that never waits: full means skip."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take a slot if one is free."""
        with self._lock:
            if self._free <= 0:
                return False
            self._free -= 1
            return True

    def give_back(self, _done: object = None) -> None:
        """Return a slot (a done-callback of the shadow's future)."""
        with self._lock:
            self._free += 1


def ready(loop: asyncio.AbstractEventLoop, done: Done) -> asyncio.Future[Done]:
    """A future that already holds ``done``."""
    future: asyncio.Future[Done] = loop.create_future()
    future.set_result(done)
    return future


def check_mode(mode: str) -> None:
    """``ValueError`` unless ``mode`` is one the runner serves."""
    if mode not in ("shadow", "live"):
        raise ValueError(f"the shadow runner serves shadow and live, not {mode!r}")


def copies(op: Operation, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Args, Any]:
    """The shadow's arguments and the inputs to record: private copies if the call mutates."""
    if not op.mutates_arguments:
        return (args, kwargs), {"args": args, "kwargs": kwargs}
    inputs = {"args": copy.deepcopy(args), "kwargs": copy.deepcopy(kwargs)}
    return (copy.deepcopy(args), copy.deepcopy(kwargs)), inputs


def bound(
    method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Callable[[], Any]:
    """``method`` with its arguments, to call later."""
    return lambda: method(*args, **kwargs)


async def await_legacy(
    route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], probe: Probe | None
) -> Done:
    """The legacy method in the route's pool, timed."""
    return await in_thread(route, timed_legacy, bound(route.legacy, args, kwargs), probe)


async def in_thread(route: Route, fn: Callable[..., Done], *args: Any) -> Done:
    """``fn(*args)`` in the route's legacy pool, with the caller's contextvars."""
    return await in_pool(route, contextvars.copy_context(), fn, *args)


async def in_pool(
    route: Route, context: contextvars.Context, fn: Callable[..., Done], *args: Any
) -> Done:
    """``fn(*args)`` in the legacy pool, timed from submission to the loop seeing the result.

    The legacy path, as an async caller meets it, includes the wait for a pool thread and the
    hop back to the loop, just as the async path's time includes waiting for the loop. Timing
    only the thread's own work would flatter legacy in every latency comparison under load.
    """
    submitted = time.perf_counter()
    loop = asyncio.get_running_loop()
    done = await loop.run_in_executor(route.executor, context.run, fn, *args)
    return dataclasses.replace(done, duration_s=time.perf_counter() - submitted)
