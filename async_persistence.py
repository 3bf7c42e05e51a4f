"""``from async_persistence import AsyncPersistenceLayer``, as the migration guide imports it."""

from __future__ import annotations

from persistence.async_layer import AsyncPersistenceLayer

__all__ = ["AsyncPersistenceLayer"]
