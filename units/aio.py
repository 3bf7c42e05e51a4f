"""Units of work for an asyncpg path: ``AsyncUnits(dsn).transaction()``.

An asyncpg pool belongs to the event loop that made it, and the router's sync facade runs
the async path on a loop thread of its own beside the caller's loop: so there is one pool per
running loop, opened on first use (a ``dict.get`` per call after that). ``close()`` closes the
running loop's pool, or with ``every_loop=True`` those of every loop that still runs, each on
its own loop.

A unit of work takes its connection and sends ``BEGIN`` with its first statement, so a unit
that runs nothing costs nothing. Cancellation is safe at every point: a connection taken while
the caller was cancelled is given back; the rollback and the release at the end finish even
if the task is cancelled again meanwhile (the cancellation is re-raised after), so no
connection goes back to its pool inside a transaction. A task cancelled while a statement of
its unit runs leaves the connection in an unknown state: it is terminated, never handed to
the next caller (``keep_cut_connections=True`` rolls it back once the cancellation settled
instead, and terminates it only if it is still inside a transaction).

A call's work is ``async def work(conn) -> (value, events)``: the asyncpg connection in,
the value and the events to publish after commit out (the shape the shadow runner uses for
its own statements too).

Hooks: ``translate`` maps every error before it reaches the caller (driver errors, raised
``from`` them, and the units' own); ``health`` (``failed(error)``, ``succeeded()``) hears of
each lost connection or failed connect, and of each call that worked; ``pool_options`` go to
``asyncpg.create_pool``. A lost connection (SQLSTATE class 08 or 57P, a dead socket) also
expires the pool's other connections, which a server restart has usually killed too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any, Protocol, TypeVar

import asyncpg

from units._edges import (
    DRIVER_ERRORS,
    close_pool,
    connection_lost,
    drop_idle_connections,
    finish,
    log,
    roll_back,
    still_in_transaction,
)
from units.errors import UnitAlreadyOpen, UnitClosed, UnitError, UnitFailed
from units.sync import Publish, Translate, _describe, _drop, _same

__all__ = ["DRIVER_ERRORS", "AsyncUnit", "AsyncUnits", "Health", "Work", "connection_lost"]

T = TypeVar("T")
Work = Callable[[Any], Awaitable[tuple[T, list[object]]]]


class Health(Protocol):
    """Hears of lost connections and failed connects, and of the calls that worked."""

    def failed(self, error: BaseException) -> None:
        """A connection was lost, or could not be opened."""
        ...

    def succeeded(self) -> None:
        """A call worked."""
        ...


class AsyncUnit:
    """A caller-owned transaction on one connection: rolls back on exit unless committed.

    Calls made while it is open run on its connection, one at a time (tasks spawned inside
    the block share it). ``commit()`` and ``rollback()`` end the current transaction; a later
    call starts a new one. A call that fails in the database, or is interrupted, fails the
    unit: later calls and ``commit()`` raise ``UnitFailed`` (translated), and ``commit()``
    rolls back and drops the events. An exception the work raises itself (a refusal) leaves
    the transaction intact.
    """

    def __init__(self, units: AsyncUnits, pool: asyncpg.Pool, conn: Any, publish: Publish) -> None:
        self.events: list[object] = []
        self.lock = asyncio.Lock()
        self._units = units
        self._pool = pool
        self._conn: Any = conn
        self._publish = publish
        self._began = False  # BEGIN sent (or being sent) and not ended yet
        self._busy = False
        self._failure: str | None = None

    @property
    def failed(self) -> bool:
        """Whether a call failed in this transaction, so that it can only roll back."""
        return self._failure is not None

    @property
    def broken(self) -> bool:
        """Whether a statement was cut short, so the connection must not be reused as it is."""
        return self._busy

    async def connection(self) -> Any:
        """Its connection, inside a transaction (begun on first use). Hold ``lock``."""
        if self._conn is None:
            raise self._units.translate(UnitClosed("this unit of work has ended; open a new one"))
        if self._failure is not None:
            raise self._units.translate(
                UnitFailed(f"a call failed in this unit of work ({self._failure}); roll it back")
            )
        if not self._began:
            self._began = True  # first: close() ends it even if BEGIN is interrupted
            await self._watched(self._conn.execute("BEGIN"))
        return self._conn

    async def read(self, query: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``query(conn)`` on its connection, in its transaction."""
        async with self.lock:
            conn = await self.connection()
            return await self._watched(query(conn))

    async def run(self, work: Work[T]) -> T:
        """Run ``work`` in this transaction without committing; keep its events."""
        async with self.lock:
            conn = await self.connection()
            value, events = await self._watched(work(conn))
        self.events.extend(events)
        return value

    async def _watched(self, call: Awaitable[T]) -> T:
        """Await ``call``; a driver error or an interruption fails the unit, a refusal not."""
        self._busy = True
        try:
            value = await call
        except DRIVER_ERRORS as exc:
            self._busy = False
            error = await self._units.failed(exc)
            self._failure = _describe(error)
            raise error from exc
        except UnitError:
            self._busy = False
            raise
        except Exception:  # the call's own refusal: the transaction is intact
            self._busy = False
            raise
        except BaseException as exc:  # cancelled or interrupted mid-statement
            self._failure = f"interrupted by {type(exc).__name__}"
            raise
        self._busy = False
        return value

    async def commit(self) -> None:
        """Commit, then publish the events; a failed unit rolls back and raises ``UnitFailed``."""
        events, self.events = self.events, []
        failure, self._failure = self._failure, None
        if failure is not None:
            await self._end("ROLLBACK")
            raise self._units.translate(UnitFailed(f"nothing was committed: {failure}"))
        await self._end("COMMIT")
        if events:
            self._publish(events)

    async def rollback(self) -> None:
        """Roll back the work so far and drop its events."""
        self.events = []
        self._failure = None
        await self._end("ROLLBACK")

    async def _end(self, how: str) -> None:
        async with self.lock:
            if self._conn is None:
                raise self._units.translate(UnitClosed("this unit of work has ended"))
            if not self._began:
                return
            self._began = False
            try:
                await self._conn.execute(how)
            except DRIVER_ERRORS as exc:
                raise await self._units.failed(exc) from exc

    async def close(self) -> None:
        """Roll back what was not committed and give the connection back to its pool."""
        conn, self._conn = self._conn, None
        self.events = []
        began, self._began = self._began, False
        if conn is not None:
            cut = self._busy and not self._units.keep_cut_connections
            await finish(self._units.give_back(self._pool, conn, began=began, cut=cut))


class AsyncUnits:
    """``transaction()`` and ``run()`` for an asyncpg path, with one pool per event loop.

    ``dsn`` is a ``postgresql://`` URL; ``publish`` receives each committed transaction's
    events (default: dropped); ``pool_size`` bounds each loop's pool, ``pool_options`` are
    passed to ``asyncpg.create_pool`` (``min_size`` defaults to 1). ``translate``, ``health``
    and ``keep_cut_connections``: see the module docstring.
    """

    def __init__(
        self,
        dsn: str,
        *,
        publish: Publish | None = None,
        pool_size: int = 10,
        pool_options: Mapping[str, Any] | None = None,
        translate: Translate | None = None,
        health: Health | None = None,
        keep_cut_connections: bool = False,
    ) -> None:
        self.translate: Translate = translate or _same
        self.keep_cut_connections = keep_cut_connections
        self._dsn = dsn
        self._publish: Publish = publish or _drop
        self._pool_size = pool_size
        self._pool_options = {"min_size": 1, **(pool_options or {})}
        self._health = health
        self._pools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._guard = threading.Lock()
        self._closed = False
        self._current: ContextVar[AsyncUnit | None] = ContextVar(f"unit_{id(self):x}", default=None)

    @property
    def pools(self) -> dict[asyncio.AbstractEventLoop, asyncpg.Pool]:
        """The open pools, by event loop."""
        return self._pools

    async def pool(self) -> asyncpg.Pool:
        """The pool of the running event loop, opened on first use."""
        loop = asyncio.get_running_loop()
        found = self._pools.get(loop)
        return found if found is not None else await self._open_pool(loop)

    async def _open_pool(self, loop: asyncio.AbstractEventLoop) -> asyncpg.Pool:
        if self._closed:
            raise self.translate(UnitClosed("these units are closed"))
        with self._guard:
            lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            pool = self._pools.get(loop)
            if pool is None:
                pool = await self._create_pool()
                with self._guard:
                    self._forget_closed_loops()
                    self._pools[loop] = pool
        return pool

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            options = {"max_size": self._pool_size, **self._pool_options}
            return await asyncpg.create_pool(self._dsn, **options)
        except DRIVER_ERRORS as exc:
            if self._health is not None and (connection_lost(exc) or isinstance(exc, TimeoutError)):
                self._health.failed(exc)
            raise self.translate(exc) from exc

    def transaction(self, *, publish: Publish | None = None) -> _TransactionScope:
        """A unit of work on one connection; ``UnitAlreadyOpen`` if one is open here.

        ``publish`` receives this unit's committed events instead of the units' publisher.
        """
        return _TransactionScope(self, publish or self._publish)

    def current(self) -> AsyncUnit | None:
        """The unit of work open in this context, if any."""
        return self._current.get()

    async def run(self, work: Work[T]) -> T:
        """Run ``work`` in the open unit of work, or alone: committed, then its events published."""
        unit = self._current.get()
        if unit is not None:
            return await unit.run(work)
        async with self.transaction() as alone:
            value = await alone.run(work)
            await alone.commit()
        return value

    async def failed(self, exc: Exception) -> Exception:
        """The translated ``exc``; a lost connection expires the running loop's pool first.

        A server restart or ``pg_terminate_backend`` kills every connection at once, and
        asyncpg only notices a dead idle connection when it is used: expiring them makes the
        next call run on a fresh connection. ``health`` hears of it.
        """
        if connection_lost(exc):
            pool = self._pools.get(asyncio.get_running_loop())
            if pool is not None:
                await pool.expire_connections()
                drop_idle_connections(pool)
            if self._health is not None:
                self._health.failed(exc)
        return self.translate(exc)

    def succeeded(self) -> None:
        """Tell ``health`` that a call worked."""
        if self._health is not None:
            self._health.succeeded()

    async def acquire(self, pool: asyncpg.Pool) -> Any:
        """A connection of ``pool``; one taken while the caller was cancelled is given back.

        Cancelling ``pool.acquire()`` while it opens a new connection leaves asyncpg's connect
        futures failing unobserved ("Future exception was never retrieved"), so the acquire
        finishes, shielded, and the cancellation is re-raised once the connection is back.
        """
        acquiring = asyncio.ensure_future(pool.acquire())
        cancelled = False
        while not acquiring.done():
            try:
                await asyncio.shield(acquiring)
            except asyncio.CancelledError:
                cancelled = True
        if not cancelled:
            try:
                return acquiring.result()
            except DRIVER_ERRORS as exc:
                raise self.translate(exc) from exc
        if acquiring.exception() is None:
            await finish(self.give_back(pool, acquiring.result()))
        raise asyncio.CancelledError

    async def give_back(
        self, pool: asyncpg.Pool, conn: Any, *, began: bool = False, cut: bool = False
    ) -> None:
        """Roll ``conn`` back if it is (or may be) in a transaction, then release it.

        ``began``: a ``BEGIN`` was sent and not ended; the rollback is sent whatever
        ``is_in_transaction()`` says, since a ``BEGIN`` cancelled in flight leaves the status
        at idle until the server's answer arrives. ``cut``: a statement was cut short, so the
        connection is terminated instead. One still inside a transaction after the rollback
        is terminated too: the pool replaces it, and never hands it out mid-transaction.
        """
        try:
            if cut:
                conn.terminate()
            elif began or still_in_transaction(conn):
                await roll_back(conn)
        except DRIVER_ERRORS as exc:  # the pool resets or replaces the connection
            if not connection_lost(exc):  # a lost connection is the health's business
                log.warning("rollback failed: %s", _describe(exc))
            await self.failed(exc)
        finally:
            if still_in_transaction(conn):
                conn.terminate()
            await self._release(pool, conn)

    async def _release(self, pool: asyncpg.Pool, conn: Any) -> None:
        """Give ``conn`` back; if asyncpg already took it back, that is a lost connection.

        A connection that died mid-operation can be returned to its pool by asyncpg itself,
        and releasing it again raises ``InternalClientError``: nothing is left to release.
        """
        try:
            await pool.release(conn)
        except (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError) as exc:
            if self._health is not None:
                self._health.failed(exc)

    async def close(self, *, every_loop: bool = False, final: bool = True) -> None:
        """Close the running loop's pool, and terminate those of loops that no longer run.

        A pool of another running loop belongs to it: its own ``close()`` (on that loop)
        closes it, or ``every_loop=True`` closes it here, on its loop. Once no pool is left,
        later calls raise ``UnitClosed``, unless ``final=False``: then the next call opens a
        new pool.
        """
        current = asyncio.get_running_loop()
        with self._guard:
            closing = {
                loop: pool
                for loop, pool in self._pools.items()
                if every_loop or loop is current or loop.is_closed() or not loop.is_running()
            }
            for loop in closing:
                del self._pools[loop]
                if loop is not current:
                    self._locks.pop(loop, None)
            self._closed = final and not self._pools
        for loop, pool in closing.items():
            await close_pool(pool, loop, current)

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._pools if loop.is_closed()]:
            del self._pools[loop]
            self._locks.pop(loop, None)


class _TransactionScope:
    """``async with units.transaction() as unit``: binds a unit of work to the context."""

    __slots__ = ("_publish", "_token", "_unit", "_units")

    def __init__(self, units: AsyncUnits, publish: Publish) -> None:
        self._units = units
        self._publish = publish
        self._unit: AsyncUnit | None = None
        self._token: Token[AsyncUnit | None] | None = None

    async def __aenter__(self) -> AsyncUnit:
        units = self._units
        if units.current() is not None:
            raise units.translate(UnitAlreadyOpen("a unit of work is already open in this context"))
        pool = await units.pool()
        conn = await units.acquire(pool)
        self._unit = AsyncUnit(units, pool, conn, self._publish)
        self._token = units._current.set(self._unit)
        return self._unit

    async def __aexit__(self, *exc_info: object) -> None:
        unit, self._unit = self._unit, None
        if self._token is not None:
            self._units._current.reset(self._token)
        if unit is not None:
            await unit.close()
