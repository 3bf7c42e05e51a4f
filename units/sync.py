"""Units of work for a blocking psycopg2 path: ``SyncUnits(connect).transaction()``.

Each call's work is a function of a :class:`Session` (a dict-row cursor and the events the
call produces). Alone (``SyncUnits.run`` with no unit open) it runs in a transaction of its
own, committed at the end; inside a unit of work it joins the unit's transaction and its
events wait for ``commit()``.

Connections come from a :class:`ConnectionSource`: by default :class:`IdleConnections` over
``connect``, which keeps up to ``max_idle`` of them for reuse and closes one that is closed
or still inside a transaction; or a pool of the team's own (``source=``), such as a bounded
pool with its own outage accounting. ``translate`` maps every error before it reaches the
caller (the driver's and the units' own), so a team raises its own exception tree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

import psycopg2
import psycopg2.extras

from units.errors import UnitAlreadyOpen, UnitClosed, UnitError, UnitFailed

__all__ = [
    "ConnectionSource",
    "IdleConnections",
    "Publish",
    "Session",
    "SyncUnit",
    "SyncUnits",
    "Translate",
]

T = TypeVar("T")
#: Called with a committed transaction's events.
Publish = Callable[[list[object]], None]
#: Maps an error (a driver error, or a ``UnitError``) to the one the caller gets.
Translate = Callable[[Exception], Exception]


class ConnectionSource(Protocol):
    """Where a ``SyncUnits`` takes its psycopg2 connections and gives them back."""

    def acquire(self) -> Any:
        """A connection, not inside a transaction."""
        ...

    def release(self, conn: Any) -> None:
        """Take ``conn`` back: keep it for reuse, or close it."""
        ...

    def close(self) -> None:
        """Close the kept connections; later ``acquire()`` calls fail."""
        ...


class Session:
    """One call's cursor and the events it will publish once its transaction commits."""

    __slots__ = ("cursor", "events")

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.events: list[object] = []

    def one(self, query: Any, params: Any = None) -> dict[str, Any] | None:
        """The first row of ``query`` as a dict, or None."""
        self.cursor.execute(query, params)
        row = self.cursor.fetchone()
        return dict(row) if row is not None else None

    def all(self, query: Any, params: Any = None) -> list[dict[str, Any]]:
        """Every row of ``query``, as dicts."""
        self.cursor.execute(query, params)
        return [dict(row) for row in self.cursor.fetchall()]

    def emit(self, events: Iterable[object]) -> None:
        """Queue ``events`` for publishing after commit."""
        self.events.extend(events)


class SyncUnit:
    """A caller-owned transaction on one connection: rolls back on exit unless committed.

    A statement that fails marks the unit failed: later calls raise :class:`UnitFailed` and
    ``commit()`` rolls back instead. ``events`` are the events of the calls so far.
    """

    def __init__(
        self,
        conn: Any,
        publish: Publish,
        *,
        translate: Translate | None = None,
        session: Callable[[Any], Session] | None = None,
    ) -> None:
        self.events: list[object] = []
        self._conn = conn
        self._publish = publish
        self._translate: Translate = translate or _same
        self._session = session or Session
        self._lock = threading.RLock()
        self._failure: str | None = None
        self._closed = False

    @property
    def failed(self) -> bool:
        """Whether a call failed in this transaction, so that it can only roll back."""
        return self._failure is not None

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in this transaction without committing; keep its events."""
        with self._lock:
            self._require_usable()
            try:
                with self._conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    session = self._session(cur)
                    result = work(session)
            except psycopg2.Error as exc:  # PostgreSQL aborted the transaction
                error = self._translate(exc)
                self._failure = _describe(error)
                raise error from exc
            except Exception:  # the call's own refusal, raised before it wrote
                raise
            except BaseException as exc:  # interrupted mid-statement
                self._failure = f"interrupted by {type(exc).__name__}"
                raise
            self.events.extend(session.events)
            return result

    def commit(self) -> None:
        """Commit, then publish the events; a failed unit rolls back and raises ``UnitFailed``."""
        with self._lock:
            self._require_open()
            if self._failure is not None:
                failure, self._failure = self._failure, None
                self._roll_back_quietly()
                raise self._translate(UnitFailed(f"nothing was committed: {failure}"))
            try:
                self._conn.commit()
            except psycopg2.Error as exc:
                self.events.clear()
                raise self._translate(exc) from exc
            events, self.events = self.events, []
        self._publish(events)

    def rollback(self) -> None:
        """Roll back the work so far and drop its events."""
        with self._lock:
            self._require_open()
            self.events.clear()
            self._failure = None
            try:
                self._conn.rollback()
            except psycopg2.Error as exc:
                raise self._translate(exc) from exc

    def close(self) -> None:
        """End the unit: anything not committed is rolled back."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._roll_back_quietly()

    def _roll_back_quietly(self) -> None:
        self.events.clear()
        self._failure = None
        try:
            self._conn.rollback()
        except psycopg2.Error as exc:  # a dead connection cannot; its source does not reuse it
            if not self._conn.closed:
                logging.getLogger("units").warning("rollback failed: %s", _describe(exc))

    def _require_open(self) -> None:
        if self._closed:
            raise self._translate(UnitClosed("this unit of work has ended; open a new one"))

    def _require_usable(self) -> None:
        self._require_open()
        if self._failure is not None:
            raise self._translate(
                UnitFailed(f"a call failed in this unit of work ({self._failure}); roll it back")
            )


class SyncUnits:
    """``transaction()`` and ``run()`` for a psycopg2 path, over connections from ``connect``.

    ``connect`` returns a new psycopg2 connection (``lambda: psycopg2.connect(dsn)``), kept
    for reuse by :class:`IdleConnections` (up to ``max_idle``); or give ``source=`` a
    :class:`ConnectionSource` of your own instead. ``publish`` receives each committed
    transaction's events (default: dropped). ``translate`` maps every error raised to the
    caller (default: unchanged); ``session`` builds each call's :class:`Session` from its
    cursor (a subclass with helpers of your own). Thread-safe; each context (thread, task)
    has its own open unit.
    """

    def __init__(
        self,
        connect: Callable[[], Any] | None = None,
        *,
        source: ConnectionSource | None = None,
        publish: Publish | None = None,
        translate: Translate | None = None,
        session: Callable[[Any], Session] | None = None,
        max_idle: int = 8,
    ) -> None:
        if source is None:
            if connect is None:
                raise ValueError("SyncUnits needs connect or source=")
            source = IdleConnections(connect, max_idle=max_idle)
        elif connect is not None:
            raise ValueError("SyncUnits takes connect or source=, not both")
        self._source: ConnectionSource = source
        self._publish: Publish = publish or _drop
        self._translate: Translate = translate or _same
        self._session = session
        self._current: ContextVar[SyncUnit | None] = ContextVar(f"unit_{id(self):x}", default=None)

    @property
    def source(self) -> ConnectionSource:
        """Where the connections come from."""
        return self._source

    @contextmanager
    def transaction(self) -> Iterator[SyncUnit]:
        """A unit of work on one connection; ``UnitAlreadyOpen`` if one is open here."""
        if self._current.get() is not None:
            raise self._translate(UnitAlreadyOpen("a unit of work is already open in this context"))
        try:
            conn = self._source.acquire()
        except UnitError as exc:
            raise self._translate(exc) from None
        try:
            unit = SyncUnit(conn, self._publish, translate=self._translate, session=self._session)
            token = self._current.set(unit)
            try:
                yield unit
            finally:
                self._current.reset(token)
                unit.close()
        finally:
            self._source.release(conn)

    def current(self) -> SyncUnit | None:
        """The unit of work open in this context, if any."""
        return self._current.get()

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in the open unit of work, or alone: committed, then its events published."""
        unit = self._current.get()
        if unit is not None:
            return unit.run(work)
        with self.transaction() as alone:
            result = alone.run(work)
            alone.commit()
        return result

    def close(self) -> None:
        """Close the source's kept connections; later calls fail (``UnitClosed`` by default)."""
        self._source.close()


class IdleConnections:
    """The default :class:`ConnectionSource`: new connections from ``connect``, kept for reuse.

    Up to ``max_idle`` connections are kept; one that is closed, or still inside a
    transaction (left mid-statement), is closed instead of kept.
    """

    def __init__(self, connect: Callable[[], Any], *, max_idle: int = 8) -> None:
        self._connect = connect
        self._max_idle = max_idle
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> Any:
        """A kept connection, or a new one."""
        with self._lock:
            if self._closed:
                raise UnitClosed("these units are closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def release(self, conn: Any) -> None:
        """Keep ``conn`` if it is open, idle and there is room; else close it."""
        healthy = not conn.closed and _idle_in_no_transaction(conn)
        with self._lock:
            if healthy and not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        if not conn.closed:
            conn.close()

    def close(self) -> None:
        """Close the kept connections; later ``acquire()`` calls raise ``UnitClosed``."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _idle_in_no_transaction(conn: Any) -> bool:
    from psycopg2.extensions import TRANSACTION_STATUS_IDLE

    return bool(conn.get_transaction_status() == TRANSACTION_STATUS_IDLE)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else 'no message'}"


def _same(error: Exception) -> Exception:
    """The default translation: every error reaches the caller as it was raised."""
    return error


def _drop(events: list[object]) -> None:
    """The default publisher: events are not published anywhere."""
