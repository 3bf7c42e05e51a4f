"""Route every persistence call to the legacy or the async path by a per-domain flag.

- ``OperationRegistry`` / ``Operation``: the operations, declared once (``registry``);
- ``PersistenceRouter``: the async API, routed (``router``);
- ``SyncFacade``: the legacy, blocking API over the same router (``sync_facade``);
- ``Route`` / ``Dispatch``: how one call is served in one mode (``dispatch``);
- ``DispatchChain``: each mode's strategy and its named layers (``chain``);
- ``RoutingError``: the base of the errors routing raises (``errors``);
- the shadow runner, which serves ``shadow`` and ``live``: ``routing.shadowing``.

Nothing here imports ``persistence``: the MUD's operations are declared in ``app.operations``.
"""

from __future__ import annotations

from routing.dispatch import (
    DEFAULT_DISPATCH,
    Dispatch,
    Route,
    SyncDispatch,
    serve_async,
    serve_legacy,
)
from routing.errors import (
    InsideEventLoopError,
    LoopClosedError,
    RoutingError,
    TransactionNotRoutedError,
)
from routing.registry import Kind, Operation, OperationRegistry
from routing.router import PersistenceRouter
from routing.sync_facade import SyncFacade

__all__ = [
    "DEFAULT_DISPATCH",
    "Dispatch",
    "InsideEventLoopError",
    "Kind",
    "LoopClosedError",
    "Operation",
    "OperationRegistry",
    "PersistenceRouter",
    "Route",
    "RoutingError",
    "SyncDispatch",
    "SyncFacade",
    "TransactionNotRoutedError",
    "serve_async",
    "serve_legacy",
]
