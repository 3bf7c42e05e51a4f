"""What ``units.aio`` does with asyncpg connections and pools at their edges.

Which errors are the driver's, which mean the connection is gone, and the endings that must
finish even when the task that started them is cancelled: the rollback, the release, the
close of a pool on its own loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import asyncpg
from asyncpg.exceptions._base import DataError as _ClientDataError

from units.sync import _describe

__all__ = [
    "CLOSE_TIMEOUT",
    "DRIVER_ERRORS",
    "ROLLBACK_TRIES",
    "close_pool",
    "connection_lost",
    "drop_idle_connections",
    "finish",
    "log",
    "roll_back",
    "still_in_transaction",
]

#: What asyncpg raises when a statement, a connect or the connection fails.
DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)
#: How long ``close()`` waits for each pool.
CLOSE_TIMEOUT = 5.0
#: How many times a rollback cut short by a statement timeout is sent.
ROLLBACK_TRIES = 3
log = logging.getLogger("units")


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection itself is gone (not a failed statement)."""
    if isinstance(exc, asyncpg.PostgresError):
        return (exc.sqlstate or "").startswith(("08", "57P"))
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        return True  # the protocol was left mid-operation by a connection that died
    return isinstance(exc, asyncpg.InterfaceError | OSError) and not isinstance(
        exc, _ClientDataError
    )


async def finish(ending: Awaitable[None]) -> None:
    """Await ``ending`` to its end even if cancelled meanwhile; re-raise the cancellation."""
    done = asyncio.ensure_future(ending)
    cancelled = False
    while not done.done():
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            cancelled = True
    done.result()
    if cancelled:
        raise asyncio.CancelledError


def still_in_transaction(conn: Any) -> bool:
    """Whether ``conn`` is open and inside a transaction; False once asyncpg took it back."""
    try:
        return not conn.is_closed() and bool(conn.is_in_transaction())
    except asyncpg.InterfaceError:
        return False


async def roll_back(conn: Any) -> None:
    """``ROLLBACK``, tried again if a statement timeout cut it short."""
    for attempt in range(ROLLBACK_TRIES):
        try:
            await conn.execute("ROLLBACK")
            return
        except asyncpg.QueryCanceledError:
            if attempt == ROLLBACK_TRIES - 1:
                raise


def drop_idle_connections(pool: asyncpg.Pool) -> None:
    """Terminate the pool's idle connections now, as asyncpg's own idle timeout does.

    Left to ``expire_connections()`` alone, each is closed on its next checkout in a task
    nobody awaits; on a socket the server already closed that task fails, and asyncio prints
    "Task exception was never retrieved". Terminating sends nothing. Only the holders waiting
    in the pool's queue are idle, and this runs on the pool's own loop without awaiting.
    """
    idle = getattr(getattr(pool, "_queue", None), "_queue", ())
    for holder in list(idle):
        conn = getattr(holder, "_con", None)
        if conn is not None and not conn.is_closed():
            conn.terminate()


async def close_pool(
    pool: asyncpg.Pool, loop: asyncio.AbstractEventLoop, current: asyncio.AbstractEventLoop
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
        log.warning("closing a pool failed: %s", _describe(exc))
