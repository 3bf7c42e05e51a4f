"""How a routed call is served once its mode is known: one strategy per mode.

A ``Route`` is one operation as one router view serves it: both paths' bound methods, the key
extractor and the legacy thread pool. A ``Dispatch`` turns ``(route, args, kwargs)`` into an
awaitable of the caller's result; a ``SyncDispatch`` serves the sync facade's blocking calls.

``DEFAULT_DISPATCH`` and ``default_sync_dispatch()`` are a router's strategies before anything
is installed (``shadow`` served like ``legacy``, ``live`` like ``async``); the system installs
its ``routing.chain.DispatchChain`` over them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol

from flags.model import Mode
from routing.keys import KeyOf
from routing.loop_thread import LoopThread
from routing.registry import Operation


class Route:
    """One operation as served by one router view."""

    __slots__ = ("async_", "executor", "key_of", "legacy", "operation", "service")

    def __init__(
        self,
        operation: Operation,
        *,
        legacy: Callable[..., Any],
        async_: Callable[..., Coroutine[Any, Any, Any]],
        key_of: KeyOf,
        executor: Executor,
        service: str | None,
    ) -> None:
        self.operation = operation
        self.legacy = legacy
        self.async_ = async_
        self.key_of = key_of
        self.executor = executor
        self.service = service

    def run_legacy(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        """The legacy method in the legacy thread pool, with the caller's contextvars."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        if kwargs:
            call = functools.partial(context.run, self.legacy, *args, **kwargs)
            return loop.run_in_executor(self.executor, call)
        return loop.run_in_executor(self.executor, context.run, self.legacy, *args)

    def run_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
        """The async method's awaitable."""
        return self.async_(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Route({self.operation.name!r}, service={self.service!r})"


class Dispatch(Protocol):
    """Serves one call of a route in one mode."""

    def __call__(
        self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Awaitable[Any]: ...


def serve_legacy(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
    """Legacy only: the legacy method in the thread pool."""
    return route.run_legacy(args, kwargs)


def serve_async(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
    """Async only: the async method, awaited on the caller's loop."""
    return route.run_async(args, kwargs)


DEFAULT_DISPATCH: Mapping[Mode, Dispatch] = {
    "legacy": serve_legacy,
    "shadow": serve_legacy,
    "live": serve_async,
    "async": serve_async,
}


class SyncDispatch(Protocol):
    """Serves one blocking call of a route in one mode."""

    def __call__(self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...


def serve_legacy_sync(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Legacy only: the legacy method, in the caller's thread."""
    return route.legacy(*args, **kwargs)


def on_loop_thread(loop_thread: LoopThread) -> SyncDispatch:
    """Async only: the async method run on ``loop_thread``'s loop, waited for."""

    def serve_async_sync(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return loop_thread.run(route.async_(*args, **kwargs))

    return serve_async_sync


def default_sync_dispatch(loop_thread: LoopThread) -> dict[Mode, SyncDispatch]:
    """The sync facade's strategies before any shadow runner is plugged in."""
    serve_async_sync = on_loop_thread(loop_thread)
    return {
        "legacy": serve_legacy_sync,
        "shadow": serve_legacy_sync,
        "live": serve_async_sync,
        "async": serve_async_sync,
    }
