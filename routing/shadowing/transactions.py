"""One path's unit of work around a shadowed write: a committed primary, a rolled-back shadow.

Each procedure exists twice, for the async path (awaited) and for the legacy path (blocking,
run in a thread), and reaches the path only through what its ``transaction()`` yields: a
unit of work with ``run(work)``, ``commit()``, ``rollback()`` and ``events``. Our own SQL runs
through ``run`` too: the legacy unit hands ``work`` a session (``one(sql, params)`` and
``cursor``), the async unit an asyncpg connection.

* :func:`primary_write_async` / :func:`primary_write_legacy`: capture (and lock) the rows
  the write touches, write, read them back, take the unit's events, commit.
* :func:`shadow_write_async` / :func:`shadow_write_legacy`: restore what the primary's
  capture saw, write, read back, take the events, roll back; never wait on a lock (retry a
  few times, then skip as ``locked``).

``already_open`` is the exception class (or classes) a path's ``transaction()`` raises when
the caller has a unit of work open on it; routing cannot import the paths, so the
application names it in its declaration (``ShadowWrites.already_open``). Only that class
means "the caller owns this write"; any other error from ``transaction()`` propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol, TypeVar

from routing.shadowing.config import RunnerConfig, Skip
from routing.shadowing.plans import Capture
from routing.shadowing.rows import Captured, lock_timeout_script, parse_capture, restore_script
from routing.shadowing.sides import Outcome, timed_async, timed_legacy

__all__ = [
    "AlreadyOpen",
    "AsyncPath",
    "SyncPath",
    "lock_unavailable",
    "primary_write_async",
    "primary_write_legacy",
    "shadow_write_async",
    "shadow_write_legacy",
]

#: The exception classes that mean "the caller has a unit of work open on this path".
AlreadyOpen = tuple[type[BaseException], ...]

T = TypeVar("T")
#: SQLSTATEs that mean "someone else holds these rows": lock not available, deadlock, or
#: (in the shadow's REPEATABLE READ snapshot) rows another writer changed since it began.
LOCKED = frozenset({"55P03", "40P01", "40001"})
#: The shadow's first statement: one snapshot for its restore, its write and its read-back.
SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
#: The SQLSTATE of a statement cancelled by ``statement_timeout``.
CANCELLED = "57014"
RETRY_DELAYS_S = (0.001, 0.003, 0.008, 0.02, 0.05)
_clock = time.perf_counter


class AsyncUnit(Protocol):
    """The async path's unit of work, as far as the runner uses it."""

    events: list[object]

    async def run(self, operation: Callable[[Any], Awaitable[tuple[T, list[object]]]]) -> T: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class AsyncPath(Protocol):
    """Anything whose ``transaction()`` opens an :class:`AsyncUnit`."""

    def transaction(self) -> AbstractAsyncContextManager[AsyncUnit]: ...


class SyncUnit(Protocol):
    """The legacy path's unit of work, as far as the runner uses it."""

    events: list[object]

    def run(self, work: Callable[[Any], T]) -> T: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class SyncPath(Protocol):
    """Anything whose ``transaction()`` opens a :class:`SyncUnit`."""

    def transaction(self) -> AbstractContextManager[SyncUnit]: ...


def lock_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what it was raised from) is a lock the database would not give."""
    return sqlstate(error) in LOCKED


def sqlstate(error: BaseException | None) -> str | None:
    """The SQLSTATE of ``error`` or of the driver error it was raised from, if any."""
    seen = 0
    while error is not None and seen < 5:
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code:
            return str(code)
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


# --- the async path ------------------------------------------------------------------------


async def _lock_then_capture_async(unit: AsyncUnit, capture: Capture) -> Captured:
    """Lock the rows first, then read them in a second statement.

    Under READ COMMITTED one statement reads with the snapshot it started with: if it waited
    on a row lock, a child row inserted by the writer it waited for (another item in the
    container) is missing from what it read, though the write that follows sees it. The
    second statement, with the locks held, reads the state the write will apply to.
    """
    await _fetch_async(unit, capture, locking=True)
    return await _fetch_async(unit, capture, locking=False)


async def _fetch_async(unit: AsyncUnit, capture: Capture, locking: bool) -> Captured:
    sql = capture.locking_sql if locking else capture.plain_sql

    async def work(conn: Any) -> tuple[Any, list[object]]:
        return await conn.fetchrow(sql, *capture.params), []

    return parse_capture(capture.entities, capture.keys, await unit.run(work))


async def _script_async(unit: AsyncUnit, script: str) -> None:
    async def work(conn: Any) -> tuple[None, list[object]]:
        await conn.execute(script)
        return None, []

    await unit.run(work)


async def primary_write_async(
    path: AsyncPath,
    call: Callable[[], Awaitable[Any]],
    capture: Capture | None,
    already_open: AlreadyOpen = (),
) -> Outcome:
    """The write, committed, in a unit of work of its own; see the module docstring."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            unit = await stack.enter_async_context(path.transaction())
        except already_open:  # the caller has a unit of work open: it owns this write
            done = await timed_async(call)
            return Outcome(done.value, done.error, done.duration_s, skipped=Skip.IN_UNIT_OF_WORK)
        return await _primary_in_unit_async(unit, call, capture)
    raise AssertionError("unreachable")  # pragma: no cover


async def _primary_in_unit_async(
    unit: AsyncUnit, call: Callable[[], Awaitable[Any]], capture: Capture | None
) -> Outcome:
    pre, skipped = None, None
    if capture is not None:
        try:
            pre = await _lock_then_capture_async(unit, capture)
        except Exception:  # nothing to restore the shadow from: not compared
            await unit.rollback()
            capture, skipped = None, Skip.CAPTURE_FAILED
    started = _clock()
    try:
        value = await call()
    except Exception as exc:
        duration = _clock() - started
        await _quietly(unit.rollback())
        return Outcome(error=exc, duration_s=duration, pre=pre, skipped=skipped)
    duration = _clock() - started
    after = await _fetch_async(unit, capture, locking=False) if capture is not None else None
    events = tuple(unit.events)
    await unit.commit()
    return Outcome(value, None, duration, pre, after, events, skipped=skipped)


async def shadow_write_async(
    path: AsyncPath,
    call: Callable[[], Awaitable[Any]],
    capture: Capture | None,
    pre: Captured | None,
    config: RunnerConfig,
) -> Outcome:
    """The write in a unit of work that is rolled back, on the primary's starting rows.

    Once the rows are restored (and so locked), the write and its read-back get
    ``config.write_hold_ms``: past that the shadow is cancelled and rolled back (``timed_out``),
    so a hanging shadow cannot keep a primary waiting for its whole timeout.
    """
    script = _opening(pre, config)
    for delay in (*RETRY_DELAYS_S, None):
        done = await _shadow_attempt_async(path, call, capture if pre else None, script, config)
        if done is not None:
            return done
        if delay is not None:
            await asyncio.sleep(delay * (0.5 + random.random()))
    return Outcome(skipped=Skip.LOCKED)


async def _shadow_attempt_async(
    path: AsyncPath,
    call: Callable[[], Awaitable[Any]],
    capture: Capture | None,
    script: str,
    config: RunnerConfig,
) -> Outcome | None:
    async with path.transaction() as unit:
        try:
            await _script_async(unit, script)
        except Exception as exc:
            return None if lock_unavailable(exc) else Outcome(skipped=Skip.RESTORE_FAILED)
        try:
            async with asyncio.timeout(config.write_hold_s):
                return await _write_and_read_back(unit, call, capture)
        except TimeoutError:
            return Outcome(duration_s=config.write_hold_s, timed_out=True)


async def _write_and_read_back(
    unit: AsyncUnit, call: Callable[[], Awaitable[Any]], capture: Capture | None
) -> Outcome | None:
    done = await timed_async(call)
    if lock_unavailable(done.error):
        return None
    if sqlstate(done.error) == CANCELLED:
        return Outcome(duration_s=done.duration_s, timed_out=True)
    if done.error is not None:
        return done
    after = await _fetch_async(unit, capture, locking=False) if capture else None
    events = tuple(unit.events)
    await unit.rollback()
    return Outcome(done.value, None, done.duration_s, None, after, events)


# --- the legacy path -----------------------------------------------------------------------


def _lock_then_capture_legacy(unit: SyncUnit, capture: Capture) -> Captured:
    """Lock the rows, then read them in a second statement (see ``_lock_then_capture_async``)."""
    _fetch_legacy(unit, capture, locking=True)
    return _fetch_legacy(unit, capture, locking=False)


def _fetch_legacy(unit: SyncUnit, capture: Capture, locking: bool) -> Captured:
    sql = capture.locking_sql if locking else capture.plain_sql
    row = unit.run(lambda session: session.one(sql, capture.params))
    return parse_capture(capture.entities, capture.keys, row)


def _script_legacy(unit: SyncUnit, script: str) -> None:
    unit.run(lambda session: session.cursor.execute(script))


def primary_write_legacy(
    path: SyncPath,
    call: Callable[[], Any],
    capture: Capture | None,
    already_open: AlreadyOpen = (),
) -> Outcome:
    """The write, committed, in a unit of work of its own; see the module docstring."""
    with contextlib.ExitStack() as stack:
        try:
            unit = stack.enter_context(path.transaction())
        except already_open:  # the caller has a unit of work open: it owns this write
            done = timed_legacy(call)
            return Outcome(done.value, done.error, done.duration_s, skipped=Skip.IN_UNIT_OF_WORK)
        return _primary_in_unit_legacy(unit, call, capture)
    raise AssertionError("unreachable")  # pragma: no cover


def _primary_in_unit_legacy(
    unit: SyncUnit, call: Callable[[], Any], capture: Capture | None
) -> Outcome:
    pre, skipped = None, None
    if capture is not None:
        try:
            pre = _lock_then_capture_legacy(unit, capture)
        except Exception:  # nothing to restore the shadow from: not compared
            unit.rollback()
            capture, skipped = None, Skip.CAPTURE_FAILED
    started = _clock()
    try:
        value = call()
    except Exception as exc:
        duration = _clock() - started
        with contextlib.suppress(Exception):
            unit.rollback()
        return Outcome(error=exc, duration_s=duration, pre=pre, skipped=skipped)
    duration = _clock() - started
    after = _fetch_legacy(unit, capture, locking=False) if capture is not None else None
    events = tuple(unit.events)
    unit.commit()
    return Outcome(value, None, duration, pre, after, events, skipped=skipped)


def shadow_write_legacy(
    path: SyncPath,
    call: Callable[[], Any],
    capture: Capture | None,
    pre: Captured | None,
    config: RunnerConfig,
) -> Outcome:
    """The write in a unit of work that is rolled back, on the primary's starting rows.

    A thread cannot be cancelled: here ``statement_timeout`` (``config.write_hold_ms``) bounds
    each statement the shadow runs while it holds the restored rows.
    """
    script = _opening(pre, config)
    for delay in (*RETRY_DELAYS_S, None):
        done = _shadow_attempt_legacy(path, call, capture if pre else None, script)
        if done is not None:
            return done
        if delay is not None:
            time.sleep(delay * (0.5 + random.random()))
    return Outcome(skipped=Skip.LOCKED)


def _shadow_attempt_legacy(
    path: SyncPath, call: Callable[[], Any], capture: Capture | None, script: str
) -> Outcome | None:
    with path.transaction() as unit:
        try:
            _script_legacy(unit, script)
        except Exception as exc:
            return None if lock_unavailable(exc) else Outcome(skipped=Skip.RESTORE_FAILED)
        done = timed_legacy(call)
        if lock_unavailable(done.error):
            return None
        if sqlstate(done.error) == CANCELLED:
            return Outcome(duration_s=done.duration_s, timed_out=True)
        if done.error is not None:
            return done
        after = _fetch_legacy(unit, capture, locking=False) if capture else None
        events = tuple(unit.events)
        unit.rollback()
    return Outcome(done.value, None, done.duration_s, None, after, events)


def _opening(pre: Captured | None, config: RunnerConfig) -> str:
    """The shadow's first round trip: its snapshot and limits, then the primary's starting rows.

    Under READ COMMITTED each statement would read with a snapshot of its own: a writer that
    committed between the restore's ``DELETE`` and the read-back (waited for, within the
    ``lock_timeout``) would leave a row the restore never saw in what the shadow reads back.
    REPEATABLE READ gives the whole shadow one snapshot; a row changed after it is a
    serialization failure, retried like a lock.
    """
    hold = f"{SNAPSHOT};\nSET LOCAL statement_timeout = '{max(1, int(config.write_hold_ms))}ms'"
    if pre:
        return f"{hold};\n{restore_script(pre, config.lock_timeout_ms)}"
    return f"{hold};\n{lock_timeout_script(config.lock_timeout_ms)}"


async def _quietly(awaitable: Awaitable[object]) -> None:
    with contextlib.suppress(Exception):
        await awaitable
