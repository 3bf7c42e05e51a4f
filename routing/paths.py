"""What every view of one router shares: both paths, the flags, the pool and the loop thread.

``RoutedPaths`` checks the registry against both implementations once, compiles each
operation's key extractors and copies its signatures, and owns the two resources the router
adds: the legacy thread pool and the background loop thread of the sync facade.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from flags.model import Mode
from routing.dispatch import (
    DEFAULT_DISPATCH,
    Dispatch,
    Route,
    SyncDispatch,
    default_sync_dispatch,
)
from routing.keys import KeyOf, compile_key
from routing.loop_thread import LoopThread
from routing.modes import GuardedFlags, ModeSource
from routing.registry import Operation, OperationRegistry

V = TypeVar("V")
#: The legacy thread pool's size, unless the caller gives a size or a pool of its own.
LEGACY_THREADS = 16


class RoutedPaths:
    """The shared state behind ``PersistenceRouter`` and ``SyncFacade`` views."""

    def __init__(
        self,
        registry: OperationRegistry,
        *,
        legacy: object,
        async_: object,
        flags: ModeSource,
        legacy_executor: Executor | None = None,
        legacy_threads: int = LEGACY_THREADS,
        dispatch: Mapping[Mode, Dispatch] | None = None,
    ) -> None:
        _check_implemented(registry, legacy, async_)
        self.registry = registry
        self.legacy = legacy
        self.async_ = async_
        self.flags = GuardedFlags(flags)
        self.owns_executor = legacy_executor is None
        self.executor: Executor = legacy_executor or ThreadPoolExecutor(
            legacy_threads, thread_name_prefix="dualpath-legacy"
        )
        self.dispatch: dict[Mode, Dispatch] = {**DEFAULT_DISPATCH, **(dispatch or {})}
        self.loop_thread = LoopThread()
        self.sync_dispatch: dict[Mode, SyncDispatch] = default_sync_dispatch(self.loop_thread)
        self.async_signatures = {op.name: _signature(async_, op.name) for op in registry}
        self.legacy_signatures = {op.name: _signature(legacy, op.legacy_name) for op in registry}
        self._async_keys = _keys(registry, self.async_signatures)
        self._legacy_keys = _keys(registry, self.legacy_signatures)
        self.closed = False
        self._views: dict[tuple[str, str | None], Any] = {}

    def view(self, kind: str, service: str | None, make: Callable[[], V]) -> V:
        """The one view of ``kind`` (router or sync facade) for ``service``, made once."""
        key = (kind, service)
        found = self._views.get(key)
        if found is None:
            found = self._views.setdefault(key, make())
        return found

    def route(self, operation: Operation, service: str | None, *, legacy_keys: bool) -> Route:
        """The route of ``operation`` for one view; keys read per the chosen signature."""
        keys = self._legacy_keys if legacy_keys else self._async_keys
        return Route(
            operation,
            legacy=getattr(self.legacy, operation.legacy_name),
            async_=getattr(self.async_, operation.name),
            key_of=keys[operation.name],
            executor=self.executor,
            service=service,
        )

    def doc(self, operation: Operation, *, legacy: bool) -> str | None:
        """The docstring of the implementation a view copies."""
        if legacy:
            return getattr(self.legacy, operation.legacy_name).__doc__
        return getattr(self.async_, operation.name).__doc__

    def shutdown(self) -> None:
        """Stop the loop thread (closing the async pool on its loop first) and the pool."""
        if self.closed:
            return
        self.closed = True
        self.loop_thread.stop(before=self._close_async_on_loop)
        if self.owns_executor:
            self.executor.shutdown(wait=True)

    async def aclose(self) -> None:
        """``shutdown()`` without blocking the caller's event loop."""
        await asyncio.to_thread(self.shutdown)

    def _close_async_on_loop(self) -> Awaitable[object]:
        close: Callable[[], Awaitable[object]] | None = getattr(self.async_, "close", None)
        return close() if close is not None else asyncio.sleep(0)


def _check_implemented(registry: OperationRegistry, legacy: object, async_: object) -> None:
    missing = [f"legacy.{op.legacy_name}" for op in registry if not hasattr(legacy, op.legacy_name)]
    missing += [f"async.{op.name}" for op in registry if not hasattr(async_, op.name)]
    if missing:
        raise ValueError(f"registered operations missing from a path: {', '.join(missing)}")


def _signature(owner: object, name: str) -> inspect.Signature:
    return inspect.signature(getattr(owner, name))


def _keys(
    registry: OperationRegistry, signatures: dict[str, inspect.Signature]
) -> dict[str, KeyOf]:
    return {op.name: compile_key(op, signatures[op.name]) for op in registry}


def check_names(names: frozenset[str], owner: type, what: str) -> None:
    """``ValueError`` if any of ``names`` would shadow an attribute of the view ``owner``."""
    reserved = {name for name in dir(owner) if not name.startswith("__")}
    clash = sorted(names & (reserved | {"registry", "service"}))
    if clash:
        raise ValueError(f"{what} clash with the {owner.__name__}'s own attributes: {clash}")
