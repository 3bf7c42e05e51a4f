"""Units of work for an asyncpg path: ``AsyncUnits(dsn).transaction()``.

An asyncpg pool belongs to the event loop that made it, and the router's sync facade runs
the async path on a loop thread of its own beside the caller's loop: so there is one pool per
running loop, opened on first use. A unit of work takes its connection and sends ``BEGIN``
with its first statement, so a unit that runs nothing costs nothing. A task cancelled while
a statement of its unit runs leaves the connection in an unknown state: it is terminated,
never handed to the next caller.

A call's work is ``async def work(conn) -> (value, events)``: the asyncpg connection in,
the value and the events to publish after commit out (the shape the shadow runner uses for
its own statements too).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import asyncpg

from units.errors import UnitAlreadyOpen, UnitClosed, UnitFailed
from units.sync import Publish, _drop

__all__ = ["AsyncUnit", "AsyncUnits", "Work"]

T = TypeVar("T")
Work = Callable[[Any], Awaitable[tuple[T, list[object]]]]


class AsyncUnit:
    """A caller-owned transaction on one connection: rolls back on exit unless committed."""

    def __init__(self, conn: Any, publish: Publish) -> None:
        self.events: list[object] = []
        self._conn = conn
        self._publish = publish
        self._began = False
        self._failure: str | None = None
        self._closed = False
        self._busy = False
        self._lock = asyncio.Lock()

    @property
    def broken(self) -> bool:
        """Whether a statement was cut short, so the connection must not be reused."""
        return self._busy

    async def run(self, work: Work[T]) -> T:
        """Run ``work`` in this transaction (``BEGIN`` first, once), without committing."""
        async with self._lock:
            self._require_usable()
            self._busy = True
            try:
                if not self._began:
                    await self._conn.execute("BEGIN")
                    self._began = True
                value, events = await work(self._conn)
            except asyncpg.PostgresError as exc:
                self._busy, self._failure = False, f"{type(exc).__name__}: {exc}"
                raise
            except Exception:  # the call's own refusal: the transaction is intact
                self._busy = False
                raise
            self._busy = False
            self.events.extend(events)
            return value

    async def commit(self) -> None:
        """Commit, then publish the events; a failed unit rolls back and raises ``UnitFailed``."""
        self._require_open()
        if self._failure is not None:
            failure = self._failure
            await self.rollback()
            raise UnitFailed(f"nothing was committed: {failure}")
        if self._began:
            await self._conn.execute("COMMIT")
            self._began = False
        events, self.events = self.events, []
        self._publish(events)

    async def rollback(self) -> None:
        """Roll back the work so far and drop its events."""
        self._require_open()
        self.events.clear()
        self._failure = None
        if self._began:
            self._began = False
            await self._conn.execute("ROLLBACK")

    async def close(self) -> None:
        """End the unit: anything not committed is rolled back."""
        if not self._closed:
            if not self._busy:
                await self.rollback()
            self._closed = True

    def _require_open(self) -> None:
        if self._closed:
            raise UnitClosed("this unit of work has ended; open a new one")

    def _require_usable(self) -> None:
        self._require_open()
        if self._failure is not None:
            raise UnitFailed(f"a call failed in this unit of work ({self._failure}); roll back")


class AsyncUnits:
    """``transaction()`` and ``run()`` for an asyncpg path, with one pool per event loop.

    ``dsn`` is a ``postgresql://`` URL; ``publish`` receives each committed transaction's
    events (default: dropped); ``pool_size`` bounds each loop's pool.
    """

    def __init__(self, dsn: str, *, publish: Publish | None = None, pool_size: int = 10) -> None:
        self._dsn = dsn
        self._publish: Publish = publish or _drop
        self._pool_size = pool_size
        self._pools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._closed = False
        self._current: ContextVar[AsyncUnit | None] = ContextVar(f"unit_{id(self):x}", default=None)

    async def pool(self) -> asyncpg.Pool:
        """The pool of the running event loop, opened on first use."""
        if self._closed:
            raise UnitClosed("these units are closed")
        loop = asyncio.get_running_loop()
        found = self._pools.get(loop)
        if found is not None:
            return found
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            if loop not in self._pools:
                self._forget_closed_loops()
                self._pools[loop] = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=self._pool_size
                )
            return self._pools[loop]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncUnit]:
        """A unit of work on one connection; ``UnitAlreadyOpen`` if one is open here."""
        if self._current.get() is not None:
            raise UnitAlreadyOpen("a unit of work is already open in this context")
        pool = await self.pool()
        conn = await pool.acquire()
        unit = AsyncUnit(conn, self._publish)
        token = self._current.set(unit)
        try:
            yield unit
        finally:
            self._current.reset(token)
            await asyncio.shield(_release(pool, conn, unit))

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

    async def close(self) -> None:
        """Close the running loop's pool, and terminate those of loops that no longer run.

        A pool of another running loop belongs to it: its own ``close()`` (on that loop)
        closes it. Nothing is opened after the last pool is closed.
        """
        current = asyncio.get_running_loop()
        for loop, pool in list(self._pools.items()):
            if loop is current:
                del self._pools[loop]
                await pool.close()
            elif loop.is_closed() or not loop.is_running():
                del self._pools[loop]
                pool.terminate()
        self._closed = not self._pools

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._pools if loop.is_closed()]:
            del self._pools[loop]
            self._locks.pop(loop, None)


async def _release(pool: asyncpg.Pool, conn: Any, unit: AsyncUnit) -> None:
    """Give ``conn`` back, rolled back; a connection cut mid-statement is terminated instead."""
    try:
        await unit.close()
    except Exception:
        conn.terminate()
    if unit.broken:
        conn.terminate()
    with contextlib.suppress(Exception):
        await pool.release(conn)
