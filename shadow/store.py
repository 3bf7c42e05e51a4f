"""The divergence store: a bounded in-memory queue, written to PostgreSQL in batches.

``record()`` is on the caller's path, so it never blocks and never raises: it appends to a
bounded queue, and when the queue is full the divergence is dropped and counted
(``dropped`` and the ``dualpath_shadow_queue_dropped_total`` counter). A background task
writes what is queued every ``flush_interval_s`` (or at once on ``flush()``), in batches of
up to ``batch_size``, each batch in one transaction that:

* upserts ``divergence_groups`` by signature (count, first/last seen). A ``fixed`` group
  that diverges again is reopened: status ``open``, reason "diverged again after being
  fixed", by ``shadow``. An ``ignored`` group keeps counting and stays ignored;
* inserts exemplars and keeps the newest ``exemplars_per_group`` of each group (older ones
  are deleted, so exemplars follow the code that is running now);
* upserts the per-minute rollup accumulated since the last write.

Configured fields are redacted before anything is written or logged. While the database is
down, batches stay queued, writing is retried with exponential backoff, and the outage is
logged once when it starts (``shadow.store_unavailable``) and once when a write succeeds
again (``shadow.store_recovered``, with its duration, failed writes and the number of drops).
A failure that is not the infrastructure's is an error, reported with its traceback (without
local variables) once per signature and minute. One ``shadow.divergence`` event is
logged for each new (or reopened) group and for every ``log_every``-th divergence of a group,
except for divergences that an infrastructure failure caused (the engine logs those as an
outage, ``shadow.paths_unavailable``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from observability import Outage, is_infrastructure, report_error
from shadow import sql
from shadow.metrics import ShadowMetrics
from shadow.normalise import canonical_json
from shadow.pool import LazyPool
from shadow.records import Divergence
from shadow.redact import DEFAULT_REDACTED, redact, redact_diff, redact_rows
from shadow.rollup import PATHS, MinuteRollup, RollupCell, minute_start

__all__ = ["DivergenceStore", "FlushTimeout", "StoreConfig"]


class FlushTimeout(TimeoutError):
    """``flush()`` gave up before everything queued was written."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """How the store queues, batches, keeps exemplars, redacts, logs and retries."""

    max_queue: int = 10_000
    batch_size: int = 500
    flush_interval_s: float = 0.2
    exemplars_per_group: int = 5
    redact_fields: frozenset[str] = DEFAULT_REDACTED
    log_every: int = 100
    retry_initial_s: float = 0.2
    retry_max_s: float = 5.0


class DivergenceStore:
    """Records divergences and rollups; writes them to PostgreSQL in the background."""

    def __init__(
        self,
        pool: LazyPool,
        metrics: ShadowMetrics,
        config: StoreConfig | None = None,
        rollup: MinuteRollup | None = None,
    ) -> None:
        self.config = config or StoreConfig()
        self.rollup = rollup or MinuteRollup()
        self.dropped = 0
        self._pool = pool
        self._metrics = metrics
        self._queue: deque[Divergence] = deque()
        self._lock = threading.Lock()
        self._cycles_started = 0
        self._last_ok = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self.outage = Outage("shadow.store")
        metrics.track_queue(self.__len__)

    def __len__(self) -> int:
        return len(self._queue)

    def record(self, divergence: Divergence) -> None:
        """Queue ``divergence`` for writing; drop and count it if the queue is full."""
        try:
            with self._lock:
                if len(self._queue) >= self.config.max_queue:
                    self.dropped += 1
                    self._metrics.dropped.inc()
                    return
                self._queue.append(divergence)
        except Exception as exc:  # never reach the caller
            report_error("shadow.record_failed", exc)

    def start(self) -> None:
        """Start the background writer on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="shadow-store")

    async def stop(self, max_wait_s: float = 5.0) -> None:
        """Write what is queued (best effort, up to ``max_wait_s``) and stop the writer."""
        with contextlib.suppress(FlushTimeout):
            if self._task is not None:
                await self.flush(max_wait_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        structlog.get_logger().info("shadow.store_stopped", unwritten=len(self._queue))

    async def flush(self, max_wait_s: float = 5.0) -> None:
        """Wait until everything queued so far is written; ``FlushTimeout`` after ``max_wait_s``.

        Done means a write cycle that started after this call succeeded: it wrote every
        divergence queued before it and the rollup accumulated so far.
        """
        self.start()
        after = self._cycles_started
        self._wake.set()
        try:
            async with asyncio.timeout(max_wait_s), self._progress:
                await self._progress.wait_for(lambda: self._last_ok > after)
        except TimeoutError as exc:
            raise FlushTimeout(f"{len(self._queue)} divergences not written yet") from exc

    async def _run(self) -> None:
        delay = self.config.flush_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self._wake.clear()
            delay = await self._cycle(delay)

    async def _cycle(self, delay: float) -> float:
        self._cycles_started += 1
        cycle = self._cycles_started
        try:
            await self._drain(len(self._queue))
        except Exception as exc:
            self._metrics.store_failures.inc()
            self._note_outage(exc)
            return min(max(delay * 2, self.config.retry_initial_s), self.config.retry_max_s)
        self._note_recovery()
        async with self._progress:
            self._last_ok = cycle
            self._progress.notify_all()
        return self.config.flush_interval_s

    async def _drain(self, count: int) -> None:
        while True:
            size = min(count, self.config.batch_size)
            await self._write(size)
            count -= size
            if count <= 0:
                return

    async def _write(self, size: int) -> None:
        with self._lock:
            batch = list(itertools.islice(self._queue, size))
        cells = self.rollup.drain()
        if not batch and not cells:
            return
        try:
            groups = await self._write_batch(batch, cells)
        except BaseException:
            self.rollup.restore(cells)
            raise
        with self._lock:
            for _ in range(size):
                self._queue.popleft()
        self._log(batch, groups)

    async def _write_batch(
        self, batch: list[Divergence], cells: dict[tuple[int, str, str], RollupCell]
    ) -> dict[str, Any]:
        redacted = [self._redacted(d) for d in batch]
        async with self._pool.connection() as conn, conn.transaction():
            if batch:
                versions = {d.signature: d.code_version for d in batch}
                await conn.execute(sql.NOTE_RECURRENCE, list(versions), list(versions.values()))
            groups = await _upsert_groups(conn, batch) if batch else []
            await _insert_exemplars(conn, _newest(redacted, self.config.exemplars_per_group))
            if batch:
                signatures = list({d.signature for d in batch})
                await conn.execute(sql.PRUNE_EXEMPLARS, signatures, self.config.exemplars_per_group)
            if cells:
                await conn.executemany(
                    sql.UPSERT_ROLLUP, [_rollup_args(k, c) for k, c in cells.items()]
                )
        return {"rows": {row["signature"]: row for row in groups}, "redacted": redacted}

    def _redacted(self, d: Divergence) -> dict[str, Any]:
        fields = self.config.redact_fields
        return {
            "divergence": d,
            "inputs": redact(d.inputs, fields),
            "primary_result": redact(d.primary_result, fields),
            "shadow_result": redact(d.shadow_result, fields),
            "diff": redact_diff(d.diff, fields),
            "captured": redact_rows(d.captured, fields),
        }

    def _log(self, batch: Sequence[Divergence], written: dict[str, Any]) -> None:
        per_signature: dict[str, int] = {}
        for d in batch:
            per_signature[d.signature] = per_signature.get(d.signature, 0) + 1
        logged: set[str] = set()
        for item in reversed(written["redacted"]):
            d = item["divergence"]
            row = written["rows"].get(d.signature)
            if row is None or d.signature in logged:
                continue
            logged.add(d.signature)
            if not d.infrastructure and _worth_logging(
                row, per_signature[d.signature], self.config.log_every
            ):
                _log_divergence(item, row)

    def _note_outage(self, exc: BaseException) -> None:
        if not is_infrastructure(exc):
            report_error("shadow.store_failed", exc, queued=len(self._queue))
        self.outage.failed(exc, queued=len(self._queue))

    def _note_recovery(self) -> None:
        self.outage.succeeded(dropped=self.dropped)


def _worth_logging(row: Any, added: int, every: int) -> bool:
    if row["inserted"] or row["reopened"]:
        return True
    count = int(row["count"])
    return every > 0 and (count // every) > ((count - added) // every)


def _log_divergence(item: dict[str, Any], row: Any) -> None:
    d: Divergence = item["divergence"]
    structlog.get_logger().warning(
        "shadow.divergence",
        signature=d.signature,
        domain=d.domain,
        operation=d.operation,
        kind=d.kind,
        diff_paths=list(d.diff_paths),
        count=int(row["count"]),
        new=bool(row["inserted"]),
        reopened=bool(row["reopened"]),
        status=row["status"],
        mode=d.mode,
        primary_path=d.primary_path,
        service=d.service,
        code_version=d.code_version,
        inputs=item["inputs"],
        diff=item["diff"],
    )


async def _upsert_groups(conn: Any, batch: Iterable[Divergence]) -> list[Any]:
    agg: dict[str, list[Any]] = {}
    for d in batch:
        row = agg.get(d.signature)
        if row is None:
            agg[d.signature] = [d.domain, d.operation, d.kind, d.diff_paths, 1, d.at, d.at]
        else:
            row[4] += 1
            row[5], row[6] = min(row[5], d.at), max(row[6], d.at)
    cols = list(zip(*agg.values(), strict=True))
    paths = [json.dumps(list(p)) for p in cols[3]]
    return list(
        await conn.fetch(
            sql.UPSERT_GROUPS,
            list(agg),
            cols[0],
            cols[1],
            cols[2],
            paths,
            cols[4],
            cols[5],
            cols[6],
        )
    )


def _newest(items: list[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    chosen = []
    for item in reversed(items):
        sig = item["divergence"].signature
        seen[sig] = seen.get(sig, 0) + 1
        if seen[sig] <= keep:
            chosen.append(item)
    return chosen[::-1]


async def _insert_exemplars(conn: Any, items: list[dict[str, Any]]) -> None:
    if not items:
        return
    await conn.executemany(sql.INSERT_EXEMPLAR, [_exemplar_args(i) for i in items])


def _exemplar_args(item: dict[str, Any]) -> tuple[Any, ...]:
    d: Divergence = item["divergence"]
    return (
        d.signature,
        canonical_json(item["inputs"]),
        d.primary_path,
        canonical_json(item["primary_result"]),
        canonical_json(item["shadow_result"]),
        canonical_json(item["diff"]),
        d.service,
        d.mode,
        d.primary_duration_ms,
        d.shadow_duration_ms,
        d.code_version,
        d.at,
        None if item["captured"] is None else canonical_json(item["captured"]),
    )


def _rollup_args(key: tuple[int, str, str], cell: RollupCell) -> tuple[Any, ...]:
    minute, domain, operation = key
    legacy, async_ = PATHS
    return (
        minute_start(minute),
        domain,
        operation,
        cell.calls,
        cell.comparisons,
        cell.divergences,
        cell.ignored,
        cell.timeouts,
        cell.errors[legacy],
        cell.errors[async_],
        cell.latency_sum_ms[legacy],
        cell.latency_sum_ms[async_],
        cell.hist[legacy],
        cell.hist[async_],
        cell.served,
        json.dumps(cell.skipped),
        json.dumps(cell.health),
    )
