"""Both persistence paths, their models, errors, events and schema.

- ``PersistenceLayer`` / ``get_persistence()``: the legacy, synchronous path (psycopg2).
- ``AsyncPersistenceLayer``: the async facade over ``persistence.repositories``.

Names are imported lazily so that importing a submodule never opens a connection or loads a
driver it does not need.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PersistenceLayer": "persistence.legacy",
    "get_persistence": "persistence.legacy",
    "set_persistence": "persistence.legacy",
    "AsyncPersistenceLayer": "persistence.async_layer",
    "EventBus": "persistence.events",
    "DatabaseError": "persistence.errors",
    "NotFoundError": "persistence.errors",
    "PersistenceError": "persistence.errors",
    "ValidationError": "persistence.errors",
    "Container": "persistence.models",
    "ItemInstance": "persistence.models",
    "Player": "persistence.models",
    "Profession": "persistence.models",
    "Room": "persistence.models",
    "Stats": "persistence.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'persistence' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
