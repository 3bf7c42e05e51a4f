"""A lazily created asyncpg pool, so that nothing connects until the first query.

Building the shadow engine must not need the database: the store may be down at start-up
and the engine keeps working. The pool is created on first use with short connect and
command timeouts, and asyncpg replaces broken connections on the next acquire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

__all__ = ["LazyPool"]


class LazyPool:
    """An asyncpg pool for ``dsn``, created on first use."""

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int = 2,
        connect_timeout: float = 2.0,
        command_timeout: float = 5.0,
    ) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        """The pool, creating it if needed (connections are opened on demand)."""
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._max_size,
                    timeout=self._connect_timeout,
                    command_timeout=self._command_timeout,
                )
            return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection from the pool for the duration of the block."""
        pool = await self.pool()
        async with pool.acquire(timeout=self._connect_timeout) as conn:
            yield conn

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """Rows of ``sql``."""
        async with self.connection() as conn:
            return list(await conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        """The first row of ``sql``, or ``None``."""
        async with self.connection() as conn:
            return await conn.fetchrow(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        """Run ``sql``; its status string."""
        async with self.connection() as conn:
            return str(await conn.execute(sql, *args))

    async def close(self) -> None:
        """Close the pool if it was created."""
        async with self._lock:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                try:
                    await asyncio.wait_for(pool.close(), self._command_timeout)
                except (TimeoutError, OSError, asyncpg.PostgresError):
                    pool.terminate()
