"""Units of work for a team's two paths: what the router and the shadow runner need of them.

A path the shadow runner serves must open a unit of work with ``transaction()``: one
connection, one transaction, rolled back on exit unless ``commit()`` was called, with the
events its calls produced. These two classes give a path that, over its own connections:

- :class:`SyncUnits` for a blocking psycopg2 path (``units.sync``);
- :class:`AsyncUnits` for an asyncpg path (``units.aio``): one pool per event loop, the
  ``BEGIN`` sent with the first statement, and a connection that a cancelled task leaves
  mid-statement is closed, never pooled again.

Calls made while a unit is open in the same context join it (``run``); a second
``transaction()`` in that context raises :class:`UnitAlreadyOpen`, which the shadow runner
reads as "the caller owns this write". Errors::

    UnitError
    ├── UnitAlreadyOpen   a unit of work is already open in this context
    ├── UnitFailed        a statement failed in this unit: it can only roll back
    └── UnitClosed        the unit has ended (or its units were closed)

Driver errors (``psycopg2.Error``, ``asyncpg.PostgresError``) pass through unchanged, and
the shadow engine compares them by SQLSTATE (``shadow.errors``), unless ``translate=`` maps
them (and the units' own errors) to a team's exception tree. ``SyncUnits(source=...)`` takes
connections from a pool of the team's own (a :class:`ConnectionSource`) instead of
:class:`IdleConnections`. ``AsyncUnits`` also takes ``health=`` (told of lost connections and
failed connects, and of calls that worked), ``pool_options=`` for ``asyncpg.create_pool``,
``keep_cut_connections=`` (a connection cut mid-statement is rolled back and kept rather than
terminated; never handed back inside a transaction either way), a publisher per unit
(``transaction(publish=...)``) and ``close(every_loop=True, final=False)``. The MUD's own
paths (``persistence/``) are built on these units.
"""

from __future__ import annotations

from units.aio import AsyncUnit, AsyncUnits, Health
from units.errors import UnitAlreadyOpen, UnitClosed, UnitError, UnitFailed
from units.sync import ConnectionSource, IdleConnections, Session, SyncUnit, SyncUnits, Translate

__all__ = [
    "AsyncUnit",
    "AsyncUnits",
    "ConnectionSource",
    "Health",
    "IdleConnections",
    "Session",
    "SyncUnit",
    "SyncUnits",
    "Translate",
    "UnitAlreadyOpen",
    "UnitClosed",
    "UnitError",
    "UnitFailed",
]
