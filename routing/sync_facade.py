"""``SyncFacade``: the legacy ``PersistenceLayer`` API, blocking, routed by the same flags.

Existing sync code keeps calling ``get_persistence().get_player(...)``. Each call asks the
flags once: ``legacy`` and ``shadow`` call the legacy method in the caller's thread; ``live``
and ``async`` run the async method on the router's one background loop thread and wait for it.
The async path keeps one pool per event loop, so all sync callers share that loop's pool. Safe
from many threads.

A sync call from inside a running event loop is refused (``InsideEventLoopError``), whatever the
flag says: it would block the loop (and, in async mode, wait on work that may need it). The
check does not depend on the mode, so flipping a flag never turns working code into failing
code. Async code should await the router instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flags.model import Mode
from routing.dispatch import Route, SyncDispatch
from routing.errors import InsideEventLoopError, TransactionNotRoutedError
from routing.paths import RoutedPaths, check_names

__all__ = ["InsideEventLoopError", "SyncFacade", "facade_for"]

_running_loop = asyncio._get_running_loop


class SyncFacade:
    """Blocking persistence with the legacy method names; get one from ``router.sync``."""

    registry: Any
    service: str | None

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Callable[..., Any]: ...

    def __init__(self, paths: RoutedPaths, service: str | None) -> None:
        check_names(paths.registry.legacy_names(), SyncFacade, "legacy names")
        self._paths = paths
        self.registry = paths.registry
        self.service = service
        table = paths.sync_dispatch
        for operation in paths.registry:
            route = paths.route(operation, service, legacy_keys=True)
            setattr(self, operation.legacy_name, _blocking(paths, route, table))

    def for_service(self, service: str | None) -> SyncFacade:
        """A view of this facade whose calls carry ``service`` in the flag context."""
        return facade_for(self._paths, service)

    def transaction(self) -> Any:
        """Not routed: raises ``TransactionNotRoutedError``."""
        raise TransactionNotRoutedError()

    def close(self) -> None:
        """Stop the router's loop thread and thread pool (as ``await router.close()``)."""
        _refuse_inside_loop("close")
        self._paths.shutdown()

    def __repr__(self) -> str:
        return f"<SyncFacade service={self.service!r} operations={len(self.registry)}>"


def facade_for(paths: RoutedPaths, service: str | None) -> SyncFacade:
    """The one facade over ``paths`` for ``service``, shared by the router's views."""
    return paths.view("sync", service, lambda: SyncFacade(paths, service))


def _blocking(
    paths: RoutedPaths, route: Route, table: Mapping[Mode, SyncDispatch]
) -> Callable[..., Any]:
    """The blocking method of one route: refuse inside a loop, decide once, dispatch."""
    operation = route.operation
    domain, service, key_of = operation.domain, route.service, route.key_of
    mode_for = paths.flags.mode_for

    def call(*args: Any, **kwargs: Any) -> Any:
        if _running_loop() is not None:
            _refuse_inside_loop(operation.legacy_name)
        return table[mode_for(domain, key_of(args, kwargs), service)](route, args, kwargs)

    call.__name__ = operation.legacy_name
    call.__qualname__ = f"SyncFacade.{operation.legacy_name}"
    call.__doc__ = paths.doc(operation, legacy=True)
    call.__signature__ = paths.legacy_signatures[operation.name]  # type: ignore[attr-defined]
    return call


def _refuse_inside_loop(name: str) -> None:
    if _running_loop() is not None:
        raise InsideEventLoopError(
            f"{name}() is the blocking persistence API and was called inside a running event "
            f"loop; await the router's async method instead (await router.<name>(...))"
        )
