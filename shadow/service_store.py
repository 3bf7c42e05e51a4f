"""Writes the counts by service to PostgreSQL each interval, and reads them back for the map.

:class:`ServiceRollupWriter` drains :class:`~shadow.service_counts.ServiceCounts` every
``interval_s`` (or at once on ``flush()``) and upserts the minute cells into
``service_rollup_minute`` and the divergence hits into ``service_divergences``, in one
transaction. A failed write puts the counts back and is retried next time; the outage is
logged once. Every process adds to the same rows, so the tables hold every process's calls.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import structlog

from shadow.pool import LazyPool
from shadow.rollup import minute_start
from shadow.service_counts import COLUMNS, MinuteKey, ServiceCell, ServiceCounts, SignatureHit

__all__ = ["ServiceFigures", "ServiceRollupWriter", "open_divergences", "service_figures"]

_ADDED = ", ".join(f"{c} = r.{c} + EXCLUDED.{c}" for c in COLUMNS)
_PLACEHOLDERS = ", ".join(f"${i}" for i in range(5, 5 + len(COLUMNS)))

UPSERT_MINUTES: Final = f"""
INSERT INTO service_rollup_minute AS r (minute, service, domain, operation, {", ".join(COLUMNS)})
VALUES ($1, $2, $3, $4, {_PLACEHOLDERS})
ON CONFLICT (minute, service, domain, operation) DO UPDATE SET {_ADDED}
"""

UPSERT_HITS: Final = """
INSERT INTO service_divergences AS s (service, signature, domain, count, first_seen, last_seen)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (service, signature) DO UPDATE SET
    count = s.count + EXCLUDED.count,
    first_seen = least(s.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(s.last_seen, EXCLUDED.last_seen)
"""

_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COLUMNS)

SELECT_FIGURES: Final = f"""
SELECT service, domain, {_SUMS}, min(minute) AS first_minute
FROM service_rollup_minute
WHERE minute >= $1 AND ($2::text IS NULL OR service = $2) AND ($3::text IS NULL OR domain = $3)
GROUP BY service, domain
"""

SELECT_OPEN: Final = """
SELECT s.service, s.domain, count(*)::bigint AS open_groups,
       array_agg(s.signature ORDER BY s.last_seen DESC) AS signatures
FROM service_divergences s
JOIN divergence_groups g ON g.signature = s.signature
WHERE g.status = 'open' AND ($1::text IS NULL OR s.service = $1)
GROUP BY s.service, s.domain
"""


@dataclass(frozen=True, slots=True)
class ServiceFigures:
    """One (service, domain) summed over a window, from every process's rows."""

    service: str
    domain: str
    cell: ServiceCell
    first_minute: datetime | None


async def service_figures(
    pool: LazyPool, since: datetime, service: str | None = None, domain: str | None = None
) -> list[ServiceFigures]:
    """The per-(service, domain) sums of every minute from ``since`` (one service or domain)."""
    rows = await pool.fetch(SELECT_FIGURES, since, service, domain)
    return [
        ServiceFigures(
            row["service"],
            row["domain"],
            ServiceCell(**{c: int(row[c] or 0) for c in COLUMNS}),
            row["first_minute"],
        )
        for row in rows
    ]


async def open_divergences(
    pool: LazyPool, service: str | None = None
) -> dict[tuple[str, str], list[str]]:
    """The open divergence groups each (service, domain) hit, newest first, by signature."""
    rows = await pool.fetch(SELECT_OPEN, service)
    return {(row["service"], row["domain"]): list(row["signatures"]) for row in rows}


class ServiceRollupWriter:
    """Drains ``counts`` into PostgreSQL in the background; see the module docstring."""

    def __init__(self, pool: LazyPool, counts: ServiceCounts, interval_s: float = 1.0) -> None:
        self.pool = pool
        self.counts = counts
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._outage = False
        self._writing = asyncio.Lock()  # a flush waits for a write in flight

    def start(self) -> None:
        """Start writing on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name="service-rollup")

    async def stop(self) -> None:
        """Write what is pending (best effort) and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def flush(self) -> None:
        """Write what is pending now, after any write in flight; raises if the database
        refuses (the counts are kept for the next try)."""
        async with self._writing:
            minutes, hits = self.counts.drain()
            if not minutes and not hits:
                return
            try:
                await self._write(minutes, hits)
            except BaseException:
                self.counts.restore(minutes, hits)
                raise

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.flush()
            except Exception as exc:
                if not self._outage:
                    structlog.get_logger().warning("services.rollup_unavailable", error=repr(exc))
                self._outage = True
            else:
                if self._outage:
                    structlog.get_logger().info("services.rollup_recovered")
                self._outage = False

    async def _write(
        self, minutes: Mapping[MinuteKey, ServiceCell], hits: Mapping[tuple[str, str], SignatureHit]
    ) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            if minutes:
                await conn.executemany(
                    UPSERT_MINUTES, [_minute_args(k, c) for k, c in minutes.items()]
                )
            if hits:
                await conn.executemany(UPSERT_HITS, [_hit_args(k, h) for k, h in hits.items()])


def _minute_args(key: MinuteKey, cell: ServiceCell) -> tuple[Any, ...]:
    minute, service, domain, operation = key
    return (minute_start(minute), service, domain, operation, *cell.as_tuple())


def _hit_args(key: tuple[str, str], hit: SignatureHit) -> tuple[Any, ...]:
    service, sig = key
    first = datetime.fromtimestamp(hit.first_seen, UTC)
    last = datetime.fromtimestamp(hit.last_seen, UTC)
    return (service, sig, hit.domain, hit.count, first, last)
