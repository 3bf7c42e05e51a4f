"""A bounded pool of psycopg2 connections whose checkout and return are serialised by an RLock.

Connections are opened lazily, up to ``size``. A caller that finds every connection busy waits
on a Condition for at most ``acquire_timeout`` seconds and then gets ``DatabaseError``; it never
waits forever. A connection that the driver reports closed (``conn.closed != 0``, e.g. after the
server restarted or terminated the backend) is discarded on return, and so is every idle
connection opened before it, since a server restart kills them all; the next call reconnects.

A lost connection or a failed connect is an outage (``ConnectionPool.outage``), logged once
when it starts (``legacy.database_unavailable``) and once when connections have worked again
for ``OUTAGE_SETTLE_S`` (``legacy.database_recovered``, with its duration and failures); the
other connections lost with the first are part of the same outage and are not logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg2
import psycopg2.extras
import structlog

from observability import Outage, mask_secrets
from persistence.errors import DatabaseError

__all__ = ["Connection", "ConnectionPool", "connect", "dsn_from_url"]

# Connections must keep working this long before an outage is logged as over.
OUTAGE_SETTLE_S = 1.0


class Connection(Protocol):
    """The part of a psycopg2 connection the legacy path uses."""

    @property
    def closed(self) -> int:
        """Non-zero once the connection is closed or lost."""
        ...

    def cursor(self) -> Any:
        """A new cursor (dict rows)."""
        ...

    def commit(self) -> None:
        """Commit the current transaction."""
        ...

    def rollback(self) -> None:
        """Roll back the current transaction."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


Connector = Callable[[str], Connection]


def dsn_from_url(url: str) -> str:
    """A libpq URL from ours; a SQLAlchemy driver suffix (``postgresql+asyncpg``) is dropped."""
    scheme, sep, rest = url.partition("://")
    if sep and "+" in scheme:
        return f"{scheme.split('+', 1)[0]}://{rest}"
    return url


def connect(dsn: str) -> Connection:
    """A psycopg2 connection returning dict rows, with UUIDs adapted both ways."""
    conn = psycopg2.connect(
        dsn,
        cursor_factory=psycopg2.extras.RealDictCursor,
        application_name="dualpath-legacy",
    )
    psycopg2.extras.register_uuid(conn_or_curs=conn)
    connection: Connection = conn
    return connection


@dataclass(slots=True)
class _Pooled:
    conn: Connection
    generation: int


class ConnectionPool:
    """Up to ``size`` connections to ``dsn``, checked out one per call."""

    def __init__(
        self,
        dsn: str,
        *,
        size: int = 10,
        acquire_timeout: float = 10.0,
        connector: Connector = connect,
        outage_settle_s: float = OUTAGE_SETTLE_S,
    ) -> None:
        if size < 1:
            raise ValueError(f"pool size must be at least 1, got {size}")
        self._dsn = dsn
        self._size = size
        self._acquire_timeout = acquire_timeout
        self._connector = connector
        self._lock = threading.RLock()
        self._released = threading.Condition(self._lock)
        self._idle: list[_Pooled] = []
        self._in_use: dict[int, _Pooled] = {}
        self._opening = 0
        self._generation = 0
        self._closed = False
        self.outage = Outage("legacy.database", settle_s=outage_settle_s)

    @property
    def size(self) -> int:
        """The most connections this pool opens."""
        return self._size

    def stats(self) -> dict[str, int]:
        """Counts of idle and checked-out connections."""
        with self._lock:
            return {"idle": len(self._idle), "in_use": len(self._in_use), "size": self._size}

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A checked-out connection, returned (or discarded if broken) on exit."""
        conn = self.acquire()
        try:
            yield conn
        finally:
            self.release(conn)

    def acquire(self) -> Connection:
        """Check out an idle connection, open a new one, or wait for one to be returned."""
        deadline = time.monotonic() + self._acquire_timeout
        with self._lock:
            pooled = self._take_or_reserve(deadline)
        if pooled is None:
            pooled = self._open_reserved()
        return pooled.conn

    def release(self, conn: Connection) -> None:
        """Return ``conn``; a closed or stale one is discarded instead of reused."""
        with self._lock:
            pooled = self._in_use.pop(id(conn), None)
            if pooled is None:
                return
            lost = bool(conn.closed)
            first_lost = lost and pooled.generation == self._generation
            if first_lost:
                self._generation += 1
                self._discard_stale_idle()
            if lost or self._closed or pooled.generation != self._generation:
                _close_quietly(conn)
            else:
                self._idle.append(pooled)
            self._released.notify()
        if first_lost:
            self.outage.failed("connection lost")
        elif not lost:
            self.outage.succeeded()

    def close(self) -> None:
        """Close every idle connection now and every busy one when it is returned."""
        with self._lock:
            self._closed = True
            for pooled in self._idle:
                _close_quietly(pooled.conn)
            self._idle.clear()
            self._released.notify_all()

    def _take_or_reserve(self, deadline: float) -> _Pooled | None:
        """An idle connection, or None after reserving a slot to open one. Lock held."""
        while True:
            if self._closed:
                raise DatabaseError("legacy persistence layer is closed")
            while self._idle:
                pooled = self._idle.pop()
                if not pooled.conn.closed:
                    self._in_use[id(pooled.conn)] = pooled
                    return pooled
            if len(self._in_use) + self._opening < self._size:
                self._opening += 1
                return None
            self._wait(deadline)

    def _wait(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            structlog.get_logger().warning("legacy.pool.exhausted", size=self._size)
            raise DatabaseError(
                f"legacy pool exhausted: all {self._size} connections busy "
                f"for {self._acquire_timeout:g}s"
            )
        self._released.wait(remaining)

    def _open_reserved(self) -> _Pooled:
        """Open a connection in a reserved slot, outside the lock (connecting is slow)."""
        try:
            conn = self._connector(self._dsn)
        except BaseException as exc:
            with self._lock:
                self._opening -= 1
                self._released.notify()
            if isinstance(exc, psycopg2.Error):
                error = DatabaseError(
                    mask_secrets(f"cannot connect to the database: {exc}".strip())
                )
                self.outage.failed(error)
                raise error from exc
            raise
        with self._lock:
            self._opening -= 1
            pooled = _Pooled(conn, self._generation)
            self._in_use[id(conn)] = pooled
        return pooled

    def _discard_stale_idle(self) -> None:
        for pooled in self._idle:
            _close_quietly(pooled.conn)
        self._idle.clear()


def _close_quietly(conn: Connection) -> None:
    try:
        conn.close()
    except psycopg2.Error:
        pass
