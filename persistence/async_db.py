"""The async path's database: asyncpg pools, one per event loop, and the unit of work.

Statements are SQLAlchemy ``text()`` clauses with named parameters, compiled once, at
import, by SQLAlchemy's asyncpg dialect into asyncpg SQL with positional ``$n`` parameters
(``statement()``). They run through an asyncpg pool with the driver's prepared-statement cache
(``conn.fetchrow/fetch/execute``): SQLAlchemy 2 over asyncpg, without the ORM or Core
execution layers on the hot path (``docs/benchmarks.md`` measures it against the raw driver).
The pool skips asyncpg's ``RESET ALL`` round trip on release: this path never changes session
state (no ``SET``, ``LISTEN`` or advisory locks), and asyncpg still rolls back any open
transaction on release. JSON and JSONB columns decode to
Python objects through a codec installed on every connection.

Pools per event loop: an asyncpg pool belongs to the loop that created it, and the sync
facade runs this same layer on a background loop thread while the main loop also uses it. So
``AsyncDatabase`` keeps one pool per running loop, in a dict keyed by loop, created lazily
under an ``asyncio.Lock`` of that loop; the lookup on each call is one ``dict.get``. Entries of
closed loops are pruned when a new pool is opened. ``close()`` closes the pool of the current
loop, and those of other loops that are still running by scheduling ``pool.close()`` on them
with ``run_coroutine_threadsafe``; pools of stopped loops are terminated or dropped. The
database stays usable after ``close()``: the next call opens a new pool.

Units of work: ``transaction(bus)`` opens an ``AsyncUnitOfWork`` bound, through a
``ContextVar``, to the current task context. While it is open, every call on this database in
that context runs on its connection inside its transaction and collects its events; nothing
commits until ``commit()``, which publishes the events on ``bus``. Exit without commit rolls
back. A call that fails in the database fails the unit of work: ``commit()`` then rolls back
and raises ``TransactionAborted`` (see ``AsyncUnitOfWork``). Without a unit of work, a write
runs in its own transaction and publishes after it commits; a write that is one statement
(health, XP, stats, upserts, deletes) runs as that statement's implicit transaction, which is
just as atomic and saves the BEGIN and COMMIT round trips.

Errors are translated here, at one boundary: integrity violations become ``ValidationError``,
every other driver, OS or connection failure ``DatabaseError``, raised ``from`` the original.
A lost connection also expires the pool's other connections, which a server restart or
``pg_terminate_backend`` has usually killed too, so the next call runs on a fresh one.
Messages are masked (``observability.mask_secrets``). A lost connection or a failed connect
is an outage (``AsyncDatabase.outage``): ``async_db.database_unavailable`` when it starts,
``async_db.database_recovered`` with its duration and failed calls once calls have worked
again for ``OUTAGE_SETTLE_S``.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import sqlalchemy as sa
import structlog
from asyncpg.exceptions._base import DataError as _ClientDataError
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from observability import Outage, describe, mask_secrets
from persistence.errors import (
    DatabaseError,
    PersistenceError,
    TransactionAborted,
    UnitOfWorkAlreadyOpen,
    ValidationError,
)
from persistence.events import EventBus

__all__ = [
    "AsyncDatabase",
    "AsyncUnitOfWork",
    "Statement",
    "default_database",
    "statement",
    "translate_error",
]

T = TypeVar("T")
#: Work run on a unit of work's connection: it returns its result and the events it raised.
ConnectionWork = Callable[[asyncpg.Connection], Awaitable[tuple[T, list[object]]]]

DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)
CLOSE_TIMEOUT = 5.0
# Calls must keep succeeding this long before an outage is logged as over.
OUTAGE_SETTLE_S = 1.0
_DIALECT = PGDialect_asyncpg()
_UNITS: ContextVar[tuple[AsyncUnitOfWork, ...]] = ContextVar("dualpath_async_units", default=())


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


def _connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection itself is gone (not a failed statement)."""
    if isinstance(exc, asyncpg.PostgresError):
        return (exc.sqlstate or "").startswith(("08", "57P"))
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        return True  # the protocol was left mid-operation by a connection that died
    return isinstance(exc, asyncpg.InterfaceError | OSError) and not isinstance(
        exc, _ClientDataError
    )


def _drop_idle_connections(pool: asyncpg.Pool) -> None:
    """Terminate the pool's idle connections now, as asyncpg's own idle timeout does.

    Left to ``expire_connections()`` alone, each is closed on its next checkout in a task
    nobody awaits; on a socket the server already closed that task fails, and asyncio prints
    "Task exception was never retrieved" with a traceback. Terminating sends nothing. Only
    the holders waiting in the pool's queue are idle (one being checked out has left it), and
    this runs on the pool's own loop without awaiting, so none is taken meanwhile.
    """
    idle = getattr(getattr(pool, "_queue", None), "_queue", ())
    for holder in list(idle):
        conn = getattr(holder, "_con", None)
        if conn is not None and not conn.is_closed():
            conn.terminate()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"


# --- the database --------------------------------------------------------------------------


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release hook: nothing to reset (asyncpg has already rolled back any transaction)."""


class AsyncDatabase:
    """A PostgreSQL database reached through one asyncpg pool per running event loop."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.outage = Outage("async_db.database", settle_s=OUTAGE_SETTLE_S)
        self._pools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"AsyncDatabase(pool_size={self.pool_size}, pools={len(self._pools)})"

    async def pool(self) -> asyncpg.Pool:
        """The pool of the running event loop, opened on first use."""
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        return pool if pool is not None else await self._open_pool(loop)

    async def _open_pool(self, loop: asyncio.AbstractEventLoop) -> asyncpg.Pool:
        with self._guard:
            lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            pool = self._pools.get(loop)
            if pool is None:
                pool = await self._create_pool()
                with self._guard:
                    self._prune_closed_loops()
                    self._pools[loop] = pool
        return pool

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            pool = await asyncpg.create_pool(
                self.url,
                # No floor: asyncpg would keep restoring it while the server is down, with a
                # traceback per attempt; connections are opened on demand and then kept.
                min_size=0,
                max_size=self.pool_size,
                init=_init_connection,
                reset=_keep_session,
                statement_cache_size=512,
                server_settings={"application_name": "dualpath-async"},
            )
        except DRIVER_ERRORS as exc:
            if _connection_lost(exc) or isinstance(exc, TimeoutError):
                self.outage.failed(exc)
            raise translate_error(exc) from exc
        structlog.get_logger().info("async_db.pool_opened", pool_size=self.pool_size)
        return pool

    def _prune_closed_loops(self) -> None:
        for loop in [loop for loop in self._pools if loop.is_closed()]:
            del self._pools[loop]
            self._locks.pop(loop, None)

    async def close(self) -> None:
        """Close the current loop's pool and those of other loops that still run."""
        current = asyncio.get_running_loop()
        with self._guard:
            pools, self._pools = self._pools, {}
            self._locks = {loop: lock for loop, lock in self._locks.items() if loop is current}
        for loop, pool in pools.items():
            await self._close_pool(pool, loop, current)

    async def _close_pool(
        self, pool: asyncpg.Pool, loop: asyncio.AbstractEventLoop, current: object
    ) -> None:
        try:
            if loop is current:
                await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
            elif loop.is_running():
                future = asyncio.run_coroutine_threadsafe(pool.close(), loop)
                await asyncio.wait_for(asyncio.wrap_future(future), CLOSE_TIMEOUT)
            elif not loop.is_closed():
                pool.terminate()
        except (*DRIVER_ERRORS, RuntimeError) as exc:
            structlog.get_logger().warning("async_db.pool_close_failed", error=describe(exc))

    async def _failed(self, exc: BaseException) -> PersistenceError:
        """Translate ``exc``; if the connection was lost, replace every pooled connection.

        A server restart or ``pg_terminate_backend`` kills all of them at once, and asyncpg
        only notices a dead idle connection when it is used: expiring them makes the next
        call after this one run on a fresh connection.

        Losing the connection or failing to open one is an outage: logged once when it starts
        and once when it ends (``self.outage``), never per call.
        """
        if _connection_lost(exc):
            pool = self._pools.get(asyncio.get_running_loop())
            if pool is not None:
                await pool.expire_connections()
                _drop_idle_connections(pool)
            self.outage.failed(exc)
        return translate_error(exc)

    # --- units of work ---------------------------------------------------------------------

    def unit_of_work(self) -> AsyncUnitOfWork | None:
        """The unit of work open on this database in the current context, if any."""
        for unit in _UNITS.get():
            if unit.database is self:
                return unit
        return None

    def transaction(self, bus: EventBus | None = None) -> _TransactionScope:
        """An async context manager yielding a unit of work; see the module docstring."""
        return _TransactionScope(self, bus)

    # --- statements ------------------------------------------------------------------------

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """One row or None."""
        try:
            unit = self.unit_of_work()
            if unit is None:
                pool = self._pools.get(asyncio.get_running_loop()) or await self.pool()
                row = await pool.fetchrow(sql, *args)
            else:
                row = await unit.read(lambda conn: conn.fetchrow(sql, *args))
        except DRIVER_ERRORS as exc:
            raise await self._failed(exc) from exc
        self.outage.succeeded()
        return row

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """All rows."""
        try:
            unit = self.unit_of_work()
            if unit is None:
                pool = self._pools.get(asyncio.get_running_loop()) or await self.pool()
                rows = list(await pool.fetch(sql, *args))
            else:
                rows = list(await unit.read(lambda conn: conn.fetch(sql, *args)))
        except DRIVER_ERRORS as exc:
            raise await self._failed(exc) from exc
        self.outage.succeeded()
        return rows

    async def write(
        self, operation: ConnectionWork[T], bus: EventBus | None, *, single_statement: bool = False
    ) -> T:
        """Run ``operation(conn) -> (result, events)`` as one write; see the module docstring.

        ``single_statement`` writes skip the explicit BEGIN/COMMIT: one statement is its own
        atomic transaction, which saves two round trips on the hottest writes.
        """
        try:
            unit = self.unit_of_work()
            if unit is not None:
                return await unit.run(operation)
            pool = self._pools.get(asyncio.get_running_loop()) or await self.pool()
            async with pool.acquire() as conn:
                if single_statement:
                    result, events = await operation(conn)
                else:
                    async with conn.transaction():
                        result, events = await operation(conn)
        except DRIVER_ERRORS as exc:
            raise await self._failed(exc) from exc
        self.outage.succeeded()
        if events and bus is not None:
            bus.publish_all(events)
        return result


class AsyncUnitOfWork:
    """A caller-owned transaction on one connection: rolls back on exit unless committed.

    Calls made while it is open run on its connection, one at a time (tasks spawned inside
    the block share it). ``commit()`` and ``rollback()`` end the current transaction; a later
    call in the block starts a new one.

    A call that fails in the database (any driver error: PostgreSQL then aborts the
    transaction) or is interrupted marks the unit of work failed: later calls and
    ``commit()`` raise ``TransactionAborted``, and ``commit()`` rolls back and drops the
    events, so nothing of a transaction that cannot be stored is ever published. The
    ``ValidationError`` and ``NotFoundError`` that a call's own checks raise before it writes
    leave the transaction intact.
    """

    def __init__(
        self,
        database: AsyncDatabase,
        pool: asyncpg.Pool,
        conn: asyncpg.Connection,
        bus: EventBus | None,
    ) -> None:
        self.database = database
        self.events: list[object] = []
        self.lock = asyncio.Lock()
        self._pool = pool
        self._conn: asyncpg.Connection | None = conn
        self._bus = bus
        self._open = False  # BEGIN sent (or being sent) and not ended yet
        self._failure: str | None = None

    @property
    def failed(self) -> bool:
        """Whether a call failed in this transaction, so that it can only roll back."""
        return self._failure is not None

    async def connection(self) -> asyncpg.Connection:
        """Its connection, inside a transaction (begun on first use). Hold ``lock``."""
        if self._conn is None:
            raise RuntimeError("the unit of work is closed")
        if self._failure is not None:
            raise TransactionAborted(
                f"a call failed in this unit of work ({self._failure}); roll it back"
            )
        if not self._open:
            self._open = True  # first: close() ends it even if BEGIN is interrupted
            await self._conn.execute("BEGIN")
        return self._conn

    async def read(self, query: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run a read on its connection."""
        async with self.lock:
            conn = await self.connection()
            return await self._watched(query(conn))

    async def run(self, operation: ConnectionWork[T]) -> T:
        """Run a write on its connection and collect the write's events."""
        async with self.lock:
            conn = await self.connection()
            result, events = await self._watched(operation(conn))
        self.events.extend(events)
        return result

    async def _watched(self, call: Awaitable[T]) -> T:
        """Await ``call``; anything but the call's own checks fails the unit of work.

        A driver error is translated here, as the legacy unit of work does, so that a caller
        running its own statements in the unit (the shadow runner's captures) gets the same
        ``PersistenceError`` classes, never a raw asyncpg error.
        """
        try:
            return await call
        except PersistenceError:
            raise
        except DRIVER_ERRORS as exc:
            self._failure = mask_secrets(f"{type(exc).__name__}: {_first_line(exc)}")
            raise await self.database._failed(exc) from exc
        except BaseException as exc:
            self._failure = f"interrupted by {type(exc).__name__}"
            raise

    async def commit(self) -> None:
        """Commit, then publish the collected events; a failed one rolls back instead."""
        events, self.events = self.events, []
        failure, self._failure = self._failure, None
        if failure is not None:
            await self._end("rollback")
            raise TransactionAborted(f"nothing was committed: {failure}")
        await self._end("commit")
        if events and self._bus is not None:
            self._bus.publish_all(events)

    async def rollback(self) -> None:
        """Roll back and drop the collected events."""
        self.events = []
        self._failure = None
        await self._end("rollback")

    async def _end(self, how: str) -> None:
        async with self.lock:
            if not self._open or self._conn is None:
                return
            self._open = False
            try:
                await self._conn.execute("COMMIT" if how == "commit" else "ROLLBACK")
            except DRIVER_ERRORS as exc:
                raise await self.database._failed(exc) from exc

    async def close(self) -> None:
        """Roll back what was not committed and give the connection back to its pool."""
        conn, self._conn = self._conn, None
        self.events = []
        begun, self._open = self._open, False
        if conn is not None:
            await _give_back(self.database, self._pool, conn, begun)


async def _give_back(
    database: AsyncDatabase, pool: asyncpg.Pool, conn: asyncpg.Connection, begun: bool = False
) -> None:
    """Roll ``conn`` back if it is (or may be) in a transaction, then release it to ``pool``.

    This is where a unit of work that did not commit rolls back. One cancelled mid-statement
    (a shadow giving way to a primary, a timeout) may be cancelled again while it ends; the
    pool would roll it back on release too, but report it as an error on the event loop
    ("Resetting connection with an active transaction"). So the rollback and the release
    finish even if the task is cancelled meanwhile, and the cancellation is re-raised after.

    ``begun``: a ``BEGIN`` was sent and not ended. Then the rollback is sent whatever
    ``is_in_transaction()`` says: a ``BEGIN`` cancelled in flight leaves the connection's
    status at idle until the server's answer arrives, which on a busy machine is after the
    check (and before the pool's reset). asyncpg sends the rollback once that cancellation
    has settled.
    """
    done = asyncio.ensure_future(_roll_back_and_release(database, pool, conn, begun))
    cancelled = False
    while not done.done():
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            cancelled = True
    done.result()
    if cancelled:
        raise asyncio.CancelledError


async def _acquire(database: AsyncDatabase, pool: asyncpg.Pool) -> asyncpg.Connection:
    """A connection of ``pool``; one taken while the caller was cancelled is given back.

    Cancelling ``pool.acquire()`` while it opens a new connection leaves asyncpg's connect
    futures failing unobserved ("Future exception was never retrieved"); a shadow giving way
    to a primary is cancelled at any point, so the acquire finishes, shielded, and the
    cancellation is re-raised once the connection is back in the pool.
    """
    acquiring = asyncio.ensure_future(pool.acquire())
    cancelled = False
    while not acquiring.done():
        try:
            await asyncio.shield(acquiring)
        except asyncio.CancelledError:
            cancelled = True
    if not cancelled:
        return acquiring.result()
    if acquiring.exception() is None:
        await _give_back(database, pool, acquiring.result())
    raise asyncio.CancelledError


#: How many times a rollback cut short by a statement timeout is sent.
ROLLBACK_TRIES = 3


async def _roll_back_and_release(
    database: AsyncDatabase, pool: asyncpg.Pool, conn: asyncpg.Connection, begun: bool
) -> None:
    try:
        if begun or conn.is_in_transaction():
            await _roll_back(conn)
    except DRIVER_ERRORS as exc:  # the pool resets or replaces the connection
        if not _connection_lost(exc):  # a lost connection is part of the outage
            structlog.get_logger().warning("async_db.rollback_failed", error=describe(exc))
        await database._failed(exc)
    finally:
        if _still_in_transaction(conn):
            conn.terminate()  # never handed back inside a transaction: the pool replaces it
        await _release(database, pool, conn)


def _still_in_transaction(conn: asyncpg.Connection) -> bool:
    """Whether ``conn`` is open and inside a transaction; False once asyncpg took it back.

    A connection that died mid-operation can already be back in its pool (asyncpg's own
    release), and then asking it anything raises ``InterfaceError``.
    """
    try:
        return not conn.is_closed() and conn.is_in_transaction()
    except asyncpg.InterfaceError:
        return False


async def _roll_back(conn: asyncpg.Connection) -> None:
    """``ROLLBACK``, tried again if a statement timeout cut it short.

    A shadow sets a short ``statement_timeout`` for its transaction; on a starved server the
    rollback itself can outlast it. Each try gets the timeout afresh.
    """
    for attempt in range(ROLLBACK_TRIES):
        try:
            await conn.execute("ROLLBACK")
            return
        except asyncpg.QueryCanceledError:
            if attempt == ROLLBACK_TRIES - 1:
                raise


async def _release(database: AsyncDatabase, pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """Give ``conn`` back; if asyncpg already took it back, say so as part of the outage.

    A connection that died mid-operation can be returned to its pool by asyncpg itself, and
    releasing it again raises ``InternalClientError`` ("called on a free connection holder"):
    nothing is left to release, and the raw driver error must not reach the caller.
    """
    try:
        await pool.release(conn)
    except (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError) as exc:
        database.outage.failed(exc)


class _TransactionScope:
    """``async with database.transaction(bus) as uow``: binds a unit of work to the context."""

    def __init__(self, database: AsyncDatabase, bus: EventBus | None) -> None:
        self._database = database
        self._bus = bus
        self._unit: AsyncUnitOfWork | None = None
        self._token: Any = None

    async def __aenter__(self) -> AsyncUnitOfWork:
        if self._database.unit_of_work() is not None:
            raise UnitOfWorkAlreadyOpen(
                "a transaction is already open in this context; nesting is not allowed"
            )
        pool = await self._database.pool()
        try:
            conn = await _acquire(self._database, pool)
        except DRIVER_ERRORS as exc:
            raise translate_error(exc) from exc
        self._unit = AsyncUnitOfWork(self._database, pool, conn, self._bus)
        self._token = _UNITS.set((*_UNITS.get(), self._unit))
        return self._unit

    async def __aexit__(self, *exc_info: object) -> None:
        unit, self._unit = self._unit, None
        _UNITS.reset(self._token)
        if unit is not None:
            await unit.close()


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
