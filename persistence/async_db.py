"""The async path's database: asyncpg pools, one per event loop, and the unit of work.

Statements are SQLAlchemy ``text()`` clauses with named parameters, compiled once, at
import, by SQLAlchemy's asyncpg dialect into asyncpg SQL with positional ``$n`` parameters
(``statement()``). They run through an asyncpg pool with the driver's prepared-statement cache
(``conn.fetchrow/fetch/execute``): SQLAlchemy 2 over asyncpg, without the ORM or Core
execution layers on the hot path (``docs/benchmarks.md`` measures it against the raw driver).
The pool skips asyncpg's ``RESET ALL`` round trip on release: this path never changes session
state (no ``SET``, ``LISTEN`` or advisory locks), and asyncpg still rolls back any open
transaction on release. JSON and JSONB columns decode to Python objects through a codec
installed on every connection.

Pools and units of work are the shipped ones (``units.AsyncUnits``, ``self.units``): one pool
per running event loop (the sync facade runs this same layer on a background loop thread
while the main loop also uses it), closed on every loop that still runs by ``close()``; the
database stays usable after ``close()``: the next call opens a new pool. A connection a
cancelled task cut mid-statement is rolled back once the cancellation settled and kept
(``keep_cut_connections``: a shadow giving way to its primary is cancelled often), and
terminated if it is still inside a transaction: none goes back to its pool inside one.

Units of work: ``transaction(bus)`` opens a ``units.AsyncUnit`` bound, through a
``ContextVar``, to the current task context. While it is open, every call on this database in
that context runs on its connection inside its transaction and collects its events; nothing
commits until ``commit()``, which publishes the events on ``bus``. Exit without commit rolls
back. A call that fails in the database fails the unit of work: ``commit()`` then rolls back
and raises ``TransactionAborted``. Without a unit of work, a write runs in its own
transaction and publishes after it commits; a write that is one statement (health, XP,
stats, upserts, deletes) runs as that statement's implicit transaction, which is just as
atomic and saves the BEGIN and COMMIT round trips.

Errors are translated here, at one boundary (``translate``, the units' hook): integrity
violations become ``ValidationError``, every other driver, OS or connection failure
``DatabaseError``, raised ``from`` the original. A lost connection also expires the pool's
other connections, which a server restart or ``pg_terminate_backend`` has usually killed
too, so the next call runs on a fresh one. Messages are masked (``observability.mask_secrets``).
A lost connection or a failed connect is an outage (``AsyncDatabase.outage``, the units'
``health``): ``async_db.database_unavailable`` when it starts, ``async_db.database_recovered``
with its duration and failed calls once calls have worked again for ``OUTAGE_SETTLE_S``.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import sqlalchemy as sa
from asyncpg.exceptions._base import DataError as _ClientDataError
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from observability import Outage, mask_secrets
from persistence.errors import (
    DatabaseError,
    PersistenceError,
    TransactionAborted,
    UnitOfWorkAlreadyOpen,
    ValidationError,
)
from persistence.events import EventBus
from units import AsyncUnit, AsyncUnits, UnitAlreadyOpen, UnitFailed
from units.aio import DRIVER_ERRORS

__all__ = [
    "AsyncDatabase",
    "Statement",
    "default_database",
    "statement",
    "translate",
    "translate_error",
]

T = TypeVar("T")
#: Work run on a unit of work's connection: it returns its result and the events it raised.
ConnectionWork = Callable[[asyncpg.Connection], Awaitable[tuple[T, list[object]]]]

# Calls must keep succeeding this long before an outage is logged as over.
OUTAGE_SETTLE_S = 1.0
_DIALECT = PGDialect_asyncpg()


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement compiled to asyncpg SQL; ``params`` name its ``$1..$n`` in order."""

    sql: str
    params: tuple[str, ...]


def statement(sql: str, *params: str) -> Statement:
    """Compile ``sql`` (named ``:params``) once to ``$n`` SQL; ``params`` pins their order."""
    compiled = sa.text(sql).compile(dialect=_DIALECT)
    names = tuple(dict.fromkeys(compiled.positiontup or ()))
    if names != params:
        raise ValueError(f"statement parameters are {names}, not {params}")
    return Statement(str(compiled), names)


# --- errors --------------------------------------------------------------------------------

_CONSTRAINTS = {
    "players_name_key": "a player with this name already exists",
    "players_user_id_key": "this user already has a player",
    "players_user_id_fkey": "unknown user_id",
    "players_profession_id_fkey": "unknown profession_id",
    "players_pkey": "a player with this id already exists",
    "containers_pkey": "a container with this id already exists",
    "containers_room_id_fkey": "unknown room_id",
    "item_instances_pkey": "an item instance with this id already exists",
    "item_instances_prototype_id_fkey": "unknown prototype_id",
    "container_contents_item_instance_id_key": "the item is already in a container",
    "container_contents_container_id_position_key": "the container slot is already taken",
}


def translate_error(exc: BaseException) -> PersistenceError:
    """The persistence error for a driver error.

    Integrity violations and invalid values (out of range, or rejected by the driver before
    sending) are the caller's bad input: ``ValidationError``. Everything else:
    ``DatabaseError``.
    """
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        name = getattr(exc, "constraint_name", None) or ""
        reason = _CONSTRAINTS.get(name) or f"constraint {name or 'check'} violated"
        detail = getattr(exc, "detail", None)
        return ValidationError(f"{reason} ({detail})" if detail else f"{reason}: {exc}")
    if isinstance(exc, asyncpg.DataError | _ClientDataError):
        return ValidationError(f"invalid value: {_first_line(exc)}")
    return DatabaseError(mask_secrets(f"{type(exc).__name__}: {_first_line(exc)}"))


def translate(exc: Exception) -> Exception:
    """The error the async path raises for ``exc`` (``units.AsyncUnits``' hook)."""
    if isinstance(exc, PersistenceError):
        return exc
    if isinstance(exc, DRIVER_ERRORS):
        return translate_error(exc)
    if isinstance(exc, UnitFailed):
        return TransactionAborted(str(exc))
    if isinstance(exc, UnitAlreadyOpen):
        return UnitOfWorkAlreadyOpen(
            "a transaction is already open in this context; nesting is not allowed"
        )
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"


# --- the database --------------------------------------------------------------------------


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release hook: nothing to reset (asyncpg has already rolled back any transaction)."""


def _pool_options() -> dict[str, Any]:
    return {
        # No floor: asyncpg would keep restoring it while the server is down, with a
        # traceback per attempt; connections are opened on demand and then kept.
        "min_size": 0,
        "init": _init_connection,
        "reset": _keep_session,
        "statement_cache_size": 512,
        "server_settings": {"application_name": "dualpath-async"},
    }


class AsyncDatabase:
    """A PostgreSQL database reached through one asyncpg pool per running event loop."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.outage = Outage("async_db.database", settle_s=OUTAGE_SETTLE_S)
        self.units = AsyncUnits(
            url,
            pool_size=pool_size,
            pool_options=_pool_options(),
            translate=translate,
            health=self.outage,
            keep_cut_connections=True,
        )

    def __repr__(self) -> str:
        return f"AsyncDatabase(pool_size={self.pool_size}, pools={len(self._pools)})"

    @property
    def _pools(self) -> dict[Any, asyncpg.Pool]:
        return self.units.pools

    async def pool(self) -> asyncpg.Pool:
        """The pool of the running event loop, opened on first use."""
        pool = self.units.pools.get(asyncio.get_running_loop())  # the hot path: one dict.get
        return pool if pool is not None else await self.units.pool()

    async def close(self) -> None:
        """Close the current loop's pool and those of other loops that still run."""
        await self.units.close(every_loop=True, final=False)

    # --- units of work ---------------------------------------------------------------------

    def unit_of_work(self) -> AsyncUnit | None:
        """The unit of work open on this database in the current context, if any."""
        return self.units.current()

    def transaction(self, bus: EventBus | None = None) -> AbstractAsyncContextManager[AsyncUnit]:
        """An async context manager yielding a unit of work; see the module docstring."""
        return self.units.transaction(publish=bus.publish_all if bus is not None else _drop)

    # --- statements ------------------------------------------------------------------------

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """One row or None."""
        unit = self.units.current()
        if unit is not None:
            row = await unit.read(lambda conn: conn.fetchrow(sql, *args))
        else:
            try:
                pool = self.units.pools.get(asyncio.get_running_loop()) or await self.pool()
                row = await pool.fetchrow(sql, *args)
            except DRIVER_ERRORS as exc:
                raise await self.units.failed(exc) from exc
        self.outage.succeeded()
        return row

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """All rows."""
        unit = self.units.current()
        if unit is not None:
            rows = list(await unit.read(lambda conn: conn.fetch(sql, *args)))
        else:
            try:
                pool = self.units.pools.get(asyncio.get_running_loop()) or await self.pool()
                rows = list(await pool.fetch(sql, *args))
            except DRIVER_ERRORS as exc:
                raise await self.units.failed(exc) from exc
        self.outage.succeeded()
        return rows

    async def write(
        self, operation: ConnectionWork[T], bus: EventBus | None, *, single_statement: bool = False
    ) -> T:
        """Run ``operation(conn) -> (result, events)`` as one write; see the module docstring.

        ``single_statement`` writes skip the explicit BEGIN/COMMIT: one statement is its own
        atomic transaction, which saves two round trips on the hottest writes.
        """
        unit = self.units.current()
        if unit is not None:
            return await unit.run(operation)
        try:
            pool = self.units.pools.get(asyncio.get_running_loop()) or await self.pool()
            async with pool.acquire() as conn:
                if single_statement:
                    result, events = await operation(conn)
                else:
                    async with conn.transaction():
                        result, events = await operation(conn)
        except DRIVER_ERRORS as exc:
            raise await self.units.failed(exc) from exc
        self.outage.succeeded()
        if events and bus is not None:
            bus.publish_all(events)
        return result


def _drop(events: list[object]) -> None:
    """No bus: a unit of work's events are not published."""


_DEFAULTS: dict[str, AsyncDatabase] = {}
_DEFAULTS_GUARD = threading.Lock()


def default_database(*, pool_size: int = 10) -> AsyncDatabase:
    """The process default database, built at first use from ``DATABASE_URL``."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError(
            "DATABASE_URL is not set: pass database= (an AsyncDatabase) or set DATABASE_URL"
        )
    with _DEFAULTS_GUARD:
        database = _DEFAULTS.get(url)
        if database is None:
            database = _DEFAULTS[url] = AsyncDatabase(url, pool_size=pool_size)
    return database
