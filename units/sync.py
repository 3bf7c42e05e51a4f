"""Units of work for a blocking psycopg2 path: ``SyncUnits(connect).transaction()``.

Each call's work is a function of a :class:`Session` (a dict-row cursor and the events the
call produces). Alone (``SyncUnits.run`` with no unit open) it runs in a transaction of its
own, committed at the end; inside a unit of work it joins the unit's transaction and its
events wait for ``commit()``. Connections come from ``connect`` and are kept for reuse, up to
``max_idle`` of them; a connection that failed is closed instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import psycopg2
import psycopg2.extras

from units.errors import UnitAlreadyOpen, UnitClosed, UnitFailed

__all__ = ["Publish", "Session", "SyncUnit", "SyncUnits"]

T = TypeVar("T")
#: Called with a committed transaction's events.
Publish = Callable[[list[object]], None]


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

    def __init__(self, conn: Any, publish: Publish) -> None:
        self.events: list[object] = []
        self._conn = conn
        self._publish = publish
        self._lock = threading.RLock()
        self._failure: str | None = None
        self._closed = False

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in this transaction without committing; keep its events."""
        with self._lock:
            self._require_usable()
            try:
                with self._conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    session = Session(cur)
                    result = work(session)
            except psycopg2.Error as exc:  # PostgreSQL aborted the transaction
                self._failure = f"{type(exc).__name__}: {exc}"
                raise
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
                self.rollback()
                raise UnitFailed(f"nothing was committed: {failure}")
            self._conn.commit()
            events, self.events = self.events, []
        self._publish(events)

    def rollback(self) -> None:
        """Roll back the work so far and drop its events."""
        with self._lock:
            self._require_open()
            self.events.clear()
            self._failure = None
            self._conn.rollback()

    def close(self) -> None:
        """End the unit: anything not committed is rolled back."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self.events.clear()
                with contextlib.suppress(psycopg2.Error):
                    self._conn.rollback()  # a dead connection cannot; it is not reused

    def _require_open(self) -> None:
        if self._closed:
            raise UnitClosed("this unit of work has ended; open a new one")

    def _require_usable(self) -> None:
        self._require_open()
        if self._failure is not None:
            raise UnitFailed(f"a call failed in this unit of work ({self._failure}); roll back")


class SyncUnits:
    """``transaction()`` and ``run()`` for a psycopg2 path, over connections from ``connect``.

    ``connect`` returns a new psycopg2 connection (``lambda: psycopg2.connect(dsn)``).
    ``publish`` receives each committed transaction's events (default: dropped). Thread-safe;
    each context (thread, task) has its own open unit.
    """

    def __init__(
        self, connect: Callable[[], Any], *, publish: Publish | None = None, max_idle: int = 8
    ) -> None:
        self._connect = connect
        self._publish: Publish = publish or _drop
        self._max_idle = max_idle
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        self._current: ContextVar[SyncUnit | None] = ContextVar(f"unit_{id(self):x}", default=None)

    @contextmanager
    def transaction(self) -> Iterator[SyncUnit]:
        """A unit of work on one connection; ``UnitAlreadyOpen`` if one is open here."""
        if self._current.get() is not None:
            raise UnitAlreadyOpen("a unit of work is already open in this context")
        with self._connection() as conn:
            unit = SyncUnit(conn, self._publish)
            token = self._current.set(unit)
            try:
                yield unit
            finally:
                self._current.reset(token)
                unit.close()

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
        """Close the idle connections; later calls raise ``UnitClosed``."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        conn = self._take()
        healthy = False
        try:
            yield conn
            healthy = not conn.closed and _idle_in_no_transaction(conn)
        finally:
            self._give_back(conn, healthy)

    def _take(self) -> Any:
        with self._lock:
            if self._closed:
                raise UnitClosed("these units are closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give_back(self, conn: Any, healthy: bool) -> None:
        with self._lock:
            if healthy and not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        if not conn.closed:
            conn.close()


def _idle_in_no_transaction(conn: Any) -> bool:
    from psycopg2.extensions import TRANSACTION_STATUS_IDLE

    return bool(conn.get_transaction_status() == TRANSACTION_STATUS_IDLE)


def _drop(events: list[object]) -> None:
    """The default publisher: events are not published anywhere."""
