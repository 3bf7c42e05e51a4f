"""Faults injected into the real paths for the guard's tests and bench: latency, errors, spikes.

Each injector wraps what the path looks up on every call (the async path's repositories, the
legacy layer's ``_run``), on the instance, and takes the wrapper away when its block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from persistence.errors import DatabaseError

REPOSITORIES = ("players", "rooms", "professions", "health", "experience", "containers", "items")


@contextlib.contextmanager
def wrapped(owner: Any, name: str, wrap: Callable[[Any], Any]) -> Iterator[None]:
    """``owner.name`` replaced by ``wrap(original)`` on the instance until the block ends."""
    setattr(owner, name, wrap(getattr(owner, name)))
    try:
        yield
    finally:
        delattr(owner, name)


@contextlib.contextmanager
def slower_async_reads(system: Any, factor: float = 2.0) -> Iterator[None]:
    """The async path's player reads take ``factor`` times as long as the legacy path's.

    Each async read times the legacy path's same read beside it, on a legacy layer of its own
    (so it never waits on the router's pool), then waits until ``factor`` times that has
    passed: the regression is ``factor`` against legacy however fast or busy the machine is.
    """
    from persistence.legacy import PersistenceLayer

    legacy = PersistenceLayer(system.database_url, pool_size=2)

    def timed_legacy(*args: Any, **kwargs: Any) -> float:
        started = time.perf_counter()
        legacy.get_player(*args, **kwargs)
        return time.perf_counter() - started

    def wrap(real: Any) -> Any:
        async def slower(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            found = await real(*args, **kwargs)
            legacy_s = await asyncio.to_thread(timed_legacy, *args, **kwargs)
            await asyncio.sleep(max(0.0, factor * legacy_s - (time.perf_counter() - started)))
            return found

        return slower

    try:
        with wrapped(system.async_layer.repos.players, "get_player_by_id", wrap):
            yield
    finally:
        legacy.close()


def failing_async_reads(system: Any, share: float, seed: int = 3) -> Any:
    """A ``share`` of the async path's player reads raise DatabaseError."""
    rng = random.Random(seed)

    def wrap(real: Any) -> Any:
        async def failing(*args: Any, **kwargs: Any) -> Any:
            if rng.random() < share:
                raise DatabaseError("injected fault: the async path lost its connection")
            return await real(*args, **kwargs)

        return failing

    return wrapped(system.async_layer.repos.players, "get_player_by_id", wrap)


def diverging_async_reads(system: Any, share: float, seed: int = 4) -> Any:
    """A ``share`` of the async path's player reads answer a level one too high."""
    rng = random.Random(seed)

    def wrap(real: Any) -> Any:
        async def diverging(*args: Any, **kwargs: Any) -> Any:
            found = await real(*args, **kwargs)
            if found is not None and rng.random() < share:
                found.level += 1
            return found

        return diverging

    return wrapped(system.async_layer.repos.players, "get_player_by_id", wrap)


@contextlib.contextmanager
def spikes_on_both_paths(
    system: Any, share: float = 0.02, low_s: float = 0.010, high_s: float = 0.040, seed: int = 9
) -> Iterator[None]:
    """On both paths, a ``share`` of calls sleep ``low_s``-``high_s`` more: the same spikes."""
    rng = random.Random(seed)

    def spike() -> float:
        return rng.uniform(low_s, high_s) if rng.random() < share else 0.0

    def legacy(real: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            pause = spike()
            if pause:
                time.sleep(pause)
            return real(*args, **kwargs)

        return run

    def new_path(real: Any) -> Any:
        async def run(*args: Any, **kwargs: Any) -> Any:
            pause = spike()
            if pause:
                await asyncio.sleep(pause)
            return await real(*args, **kwargs)

        return run

    with contextlib.ExitStack() as stack:
        stack.enter_context(wrapped(system.legacy, "_run", legacy))
        repos = system.async_layer.repos
        for name in REPOSITORIES:
            repo = getattr(repos, name, None)
            for method, _ in inspect.getmembers(repo, inspect.iscoroutinefunction):
                if not method.startswith("_"):
                    stack.enter_context(wrapped(repo, method, new_path))
        yield
