"""How one call touches the database: a Session per call, run alone or in a unit of work.

A call's work is a function of a ``Session`` (a dict-row cursor plus the events the call
produces). Alone, it runs in its own transaction on a pooled connection, committed at the end
of the call; its events are returned for publishing after commit. Inside a ``LegacyUnitOfWork``
it runs on the unit of work's connection, does not commit, and its events join the unit of
work's, published on ``commit()`` and dropped on rollback. A call that fails in the database
fails the whole unit of work, which can then only roll back (see ``LegacyUnitOfWork``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg2
import structlog

import units
from observability import describe
from persistence.errors import DatabaseError, PersistenceError, TransactionAborted
from persistence.events import EventBus
from persistence.legacy.pool import Connection
from persistence.legacy.translate import translate_error

__all__ = ["LegacyUnitOfWork", "Row", "Session", "Work", "run_alone"]

T = TypeVar("T")
Row = dict[str, Any]
Work = Callable[["Session"], T]


class Session(units.Session):
    """One call's cursor and the events it will publish once its transaction commits.

    The shipped units' ``Session`` (``one``, ``all``, ``emit``), with ``row()`` for the
    statements that always return one.
    """

    __slots__ = ()

    def row(self, query: Any, params: Any = None) -> Row:
        """The row a statement always returns (``INSERT … RETURNING``, say)."""
        row = self.one(query, params)
        if row is None:
            raise DatabaseError("the statement returned no row")
        return row


def run_alone(conn: Connection, work: Work[T]) -> tuple[T, list[object]]:
    """Run ``work`` in its own transaction on ``conn``; commit, or roll back and translate."""
    try:
        with conn.cursor() as cursor:
            session = Session(cursor)
            result = work(session)
        conn.commit()
    except psycopg2.Error as exc:
        _rollback_quietly(conn)
        raise translate_error(exc) from exc
    except BaseException:
        _rollback_quietly(conn)
        raise
    return result, session.events


class LegacyUnitOfWork:
    """A caller-owned transaction on one connection: rolls back on exit unless committed.

    ``commit()`` commits and publishes the collected events; ``rollback()`` drops them. After
    either, the unit of work may be used again for a new transaction.

    A call that fails in the database (any driver error: PostgreSQL then aborts the
    transaction) or is interrupted marks the unit of work failed: later calls and
    ``commit()`` raise ``TransactionAborted``, and ``commit()`` rolls back and drops the
    events, so nothing of a transaction that cannot be stored is ever published. The
    ``ValidationError`` and ``NotFoundError`` that a call's own checks raise before it writes
    leave the transaction intact.
    """

    def __init__(self, conn: Connection, event_bus: EventBus) -> None:
        self.events: list[object] = []
        self._conn = conn
        self._event_bus = event_bus
        self._lock = threading.RLock()
        self._closed = False
        self._failure: str | None = None

    @property
    def failed(self) -> bool:
        """Whether a call failed in this transaction, so that it can only roll back."""
        return self._failure is not None

    def run(self, work: Work[T]) -> T:
        """Run ``work`` in this transaction without committing; keep its events."""
        with self._lock:
            self._require_usable()
            try:
                with self._conn.cursor() as cursor:
                    session = Session(cursor)
                    result = work(session)
            except psycopg2.Error as exc:
                error = translate_error(exc)
                self._failure = str(error)
                raise error from exc
            except PersistenceError:
                raise
            except BaseException as exc:
                self._failure = f"interrupted by {type(exc).__name__}"
                raise
            self.events.extend(session.events)
            return result

    def commit(self) -> None:
        """Commit the work so far, then publish its events; a failed one rolls back instead."""
        with self._lock:
            self._require_open()
            if self._failure is not None:
                failure = self._failure
                self._reset()
                raise TransactionAborted(f"nothing was committed: {failure}")
            try:
                self._conn.commit()
            except psycopg2.Error as exc:
                self.events.clear()
                raise translate_error(exc) from exc
            events, self.events = self.events, []
        self._event_bus.publish_all(events)

    def rollback(self) -> None:
        """Roll back the work so far and drop its events."""
        with self._lock:
            self._require_open()
            self.events.clear()
            self._failure = None
            try:
                self._conn.rollback()
            except psycopg2.Error as exc:
                raise translate_error(exc) from exc

    def close(self) -> None:
        """End the unit of work: anything not committed is rolled back."""
        with self._lock:
            self._closed = True
            self._reset()

    def _reset(self) -> None:
        self.events.clear()
        self._failure = None
        _rollback_quietly(self._conn)

    def _require_open(self) -> None:
        if self._closed:
            raise RuntimeError("this unit of work has ended; open a new one")

    def _require_usable(self) -> None:
        self._require_open()
        if self._failure is not None:
            raise TransactionAborted(
                f"a call failed in this unit of work ({self._failure}); roll it back"
            )


def _rollback_quietly(conn: Connection) -> None:
    """Roll back; a dead connection cannot, and the pool discards it on return.

    A lost connection is part of the pool's outage (``legacy.database_unavailable``), so only
    a rollback that failed on a live connection is logged.
    """
    try:
        conn.rollback()
    except psycopg2.Error as exc:
        if not conn.closed:
            structlog.get_logger().warning("legacy.rollback_failed", error=describe(exc))
