"""The one exception tree both persistence paths raise.

::

    PersistenceError
    ├── ValidationError (also a ValueError)   bad input; nothing was written
    ├── NotFoundError                         a write named an entity that does not exist
    ├── DatabaseError                         the database or driver failed
    │   └── TransactionAborted                a statement in the unit of work failed, so
    │                                         commit() cannot store it: it rolls back
    └── UnitOfWorkAlreadyOpen (also a RuntimeError)
                                              transaction() was called while a unit of work
                                              is open on the same path in the same context

``TransactionAborted`` and ``UnitOfWorkAlreadyOpen`` are also the shipped units' ``UnitFailed``
and ``UnitAlreadyOpen`` (``units.errors``): both paths are built on those units, which raise
these classes through their ``translate`` hook.

Driver exceptions (psycopg2, asyncpg, SQLAlchemy) are translated at the boundary of each path
with ``raise … from exc``, so callers catch the same classes whichever path served them.
Their messages quote the driver's, so they are masked when the error is made
(``observability.mask_secrets``): no database password travels in one.
"""

from __future__ import annotations

from observability import mask_secrets
from units.errors import UnitAlreadyOpen, UnitFailed

__all__ = [
    "DatabaseError",
    "NotFoundError",
    "PersistenceError",
    "TransactionAborted",
    "UnitOfWorkAlreadyOpen",
    "ValidationError",
]


class PersistenceError(Exception):
    """Base of every error a persistence path raises; its message is masked."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(mask_secrets(a) if isinstance(a, str) else a for a in args))


class ValidationError(PersistenceError, ValueError):
    """The input was rejected before anything was written."""


class NotFoundError(PersistenceError):
    """A write named an entity that does not exist."""


class DatabaseError(PersistenceError):
    """The database or its driver failed; the operation may be retried."""


class TransactionAborted(DatabaseError, UnitFailed):
    """A statement failed inside a unit of work, which PostgreSQL then aborted.

    Every later call in it, and ``commit()``, raises this; ``commit()`` also rolls back and
    drops the collected events. ``rollback()`` makes the unit of work usable again.
    """


class UnitOfWorkAlreadyOpen(PersistenceError, UnitAlreadyOpen, RuntimeError):
    """``transaction()`` was called while this context already has a unit of work open.

    Units of work do not nest. The shadow runner catches this class (and only this one) as
    "the caller owns this write": it runs the write inside the caller's unit, unshadowed.
    """
