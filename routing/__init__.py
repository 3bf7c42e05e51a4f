"""Route every persistence call to the legacy or the async path by a per-domain flag.

- ``OperationRegistry`` / ``Operation``: the operations, declared once (``registry``);
- ``PersistenceRouter``: the async API, routed (``router``);
- ``SyncFacade``: the legacy, blocking API over the same router (``sync_facade``);
- ``Route`` / ``Dispatch``: how one call is served in one mode (``dispatch``).

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
from routing.loop_thread import LoopClosedError
from routing.registry import Kind, Operation, OperationRegistry
from routing.router import PersistenceRouter, TransactionNotRoutedError
from routing.sync_facade import InsideEventLoopError, SyncFacade

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
    "SyncDispatch",
    "SyncFacade",
    "TransactionNotRoutedError",
    "serve_async",
    "serve_legacy",
]
