"""The legacy, synchronous persistence path (psycopg2), and the process-wide layer.

``get_persistence()`` returns the layer given to ``set_persistence()`` if any (the router's
sync facade is installed this way), else a ``PersistenceLayer()`` built on first use from
``$DATABASE_URL``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from persistence.legacy.layer import PersistenceLayer

if TYPE_CHECKING:
    from persistence.api import SyncPersistence

__all__ = ["PersistenceLayer", "get_persistence", "set_persistence"]

_lock = threading.Lock()
_layer: SyncPersistence | None = None


def get_persistence() -> SyncPersistence:
    """The process-wide sync persistence, created on first use if none was set."""
    global _layer
    layer = _layer
    if layer is not None:
        return layer
    with _lock:
        if _layer is None:
            _layer = PersistenceLayer()
        return _layer


def set_persistence(layer: SyncPersistence | None) -> None:
    """Install ``layer`` as the process-wide persistence; None forgets the current one."""
    global _layer
    with _lock:
        _layer = layer
