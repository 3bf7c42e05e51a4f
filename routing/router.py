"""``PersistenceRouter``: the async API of ``AsyncPersistenceLayer``, routed per domain by flag.

Every registered operation becomes an async method with the async implementation's signature
and docstring. A call asks the flags once, ``mode_for(domain, key, service)``, and is served
by that mode's strategy in the dispatch table every view shares (``use_dispatch``; the
system installs its ``routing.chain.DispatchChain`` there). Results and exceptions pass
through unchanged.

Not routed: ``transaction()``. A unit of work belongs to one path's connection, and a flag
could send two calls of one unit of work to different paths, so the router refuses it; open a
unit of work on a path directly (``legacy.transaction()`` or ``async_layer.transaction()``)
and make the calls inside it on that path too: a routed call sent to the other path would run
outside the unit of work.

The per-call path is a closure made at construction: the key extractor is precompiled (an
argument index and an ``attrgetter``), and nothing on it binds signatures or logs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from flags.model import Mode
from routing.dispatch import Dispatch, Route, SyncDispatch
from routing.errors import TransactionNotRoutedError
from routing.modes import ModeSource
from routing.paths import LEGACY_THREADS, RoutedPaths, check_names
from routing.registry import OperationRegistry
from routing.sync_facade import SyncFacade, facade_for

__all__ = ["PersistenceRouter", "TransactionNotRoutedError", "paths_of"]


class PersistenceRouter:
    """The async persistence API, each call served by the path its domain's flag selects.

    ``for_service(name)`` returns a view with the same API whose calls carry ``name`` as the
    service in the flag context; ``sync`` is the legacy-named, blocking facade over the same
    paths and flags. ``close()`` releases what the router owns (its thread pool unless one was
    given, and the sync facade's loop thread); the paths are closed by whoever built them.
    """

    registry: OperationRegistry
    service: str | None

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]: ...

    def __init__(
        self,
        registry: OperationRegistry,
        *,
        legacy: object,
        async_: object,
        flags: ModeSource,
        legacy_executor: Executor | None = None,
        service: str | None = None,
        legacy_threads: int = LEGACY_THREADS,
        dispatch: Mapping[Mode, Dispatch] | None = None,
    ) -> None:
        check_names(registry.names(), PersistenceRouter, "operation names")
        paths = RoutedPaths(
            registry,
            legacy=legacy,
            async_=async_,
            flags=flags,
            legacy_executor=legacy_executor,
            legacy_threads=legacy_threads,
            dispatch=dispatch,
        )
        self._attach(paths, service)
        paths.view("router", service, lambda: self)

    def _attach(self, paths: RoutedPaths, service: str | None) -> None:
        self._paths = paths
        self.registry = paths.registry
        self.service = service
        for operation in paths.registry:
            route = paths.route(operation, service, legacy_keys=False)
            setattr(self, operation.name, _routed(paths, route))

    def for_service(self, service: str | None) -> PersistenceRouter:
        """A view of this router whose calls carry ``service`` in the flag context."""
        return self._paths.view("router", service, lambda: _view(self._paths, service))

    @property
    def sync(self) -> SyncFacade:
        """The blocking facade with the legacy method names, for this view's service."""
        return facade_for(self._paths, self.service)

    def use_dispatch(
        self, mode: Mode, dispatch: Dispatch, *, sync: SyncDispatch | None = None
    ) -> None:
        """Serve ``mode`` with ``dispatch`` (and the sync facade with ``sync``, if given).

        This is where a shadow runner plugs in; it applies to every view at once.
        """
        self._paths.dispatch[mode] = dispatch
        if sync is not None:
            self._paths.sync_dispatch[mode] = sync

    def strategies(self, mode: Mode) -> tuple[Dispatch, SyncDispatch]:
        """The strategies serving ``mode`` now (async, sync), e.g. to wrap them."""
        return self._paths.dispatch[mode], self._paths.sync_dispatch[mode]

    def transaction(self) -> Any:
        """Not routed: raises ``TransactionNotRoutedError`` (see the module docstring)."""
        raise TransactionNotRoutedError()

    async def close(self) -> None:
        """Stop the sync facade's loop thread and the router's own thread pool; idempotent."""
        await self._paths.aclose()

    def __repr__(self) -> str:
        return f"<PersistenceRouter service={self.service!r} operations={len(self.registry)}>"


def _view(paths: RoutedPaths, service: str | None) -> PersistenceRouter:
    view = object.__new__(PersistenceRouter)
    view._attach(paths, service)
    return view


def paths_of(router: PersistenceRouter) -> RoutedPaths:
    """What every view of ``router`` shares: both paths, the registry, the pool, the loop thread.

    A function rather than a method, so the router's own namespace holds only operations
    and the few methods every view has.
    """
    return router._paths


def _routed(paths: RoutedPaths, route: Route) -> Callable[..., Awaitable[Any]]:
    """The async method of one route: decide once, then await the mode's dispatch."""
    operation = route.operation
    domain, service, key_of = operation.domain, route.service, route.key_of
    mode_for = paths.flags.mode_for
    table = paths.dispatch

    async def call(*args: Any, **kwargs: Any) -> Any:
        mode = mode_for(domain, key_of(args, kwargs), service)
        return await table[mode](route, args, kwargs)

    call.__name__ = operation.name
    call.__qualname__ = f"PersistenceRouter.{operation.name}"
    call.__doc__ = paths.doc(operation, legacy=False)
    call.__signature__ = paths.async_signatures[operation.name]  # type: ignore[attr-defined]
    return call
