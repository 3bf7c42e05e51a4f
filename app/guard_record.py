"""The guard's record in PostgreSQL: every call it judged and every look it took, for replay.

Written once per look, off the calling threads: the calls each (domain, mode) gained since the
last look, as parallel arrays in one ``guard_calls`` row (with each call's event-loop lag,
migration 0007), and one ``guard_looks`` row per domain looked at (migration 0005). Rows older
than ``retention_s`` are deleted once a minute. If the database cannot be reached the record
is dropped for that look, logged once per outage, and the guard goes on judging from memory.

:func:`load` reads a stretch of the record back for ``dualpath guard replay``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from app.guard_rules import Call, Decision
from flags.model import Mode

__all__ = ["GuardRecord", "LookRow", "Recorded", "load", "look_outcome", "source_name"]

LEGACY_FAULT, ASYNC_FAULT, COMPARED, DIVERGED = 1, 2, 4, 8
INSERT_CALLS = """
INSERT INTO guard_calls
    (source, domain, mode, first_at, last_at, at, legacy_s, async_s, bits, loop_lag_s)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
INSERT_LOOK = """
INSERT INTO guard_looks (source, domain, mode, at, outcome, streak, decided_by)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
"""
PRUNE = (
    "DELETE FROM guard_calls WHERE last_at < $1",
    "DELETE FROM guard_looks WHERE at < $1",
)
SELECT_CALLS = """
SELECT source, mode, at, legacy_s, async_s, bits, loop_lag_s FROM guard_calls
WHERE domain = $1 AND last_at > $2 AND first_at <= $3 ORDER BY first_at, id
"""
SELECT_LOOKS = """
SELECT source, mode, at, outcome, streak, decided_by::text AS decided_by FROM guard_looks
WHERE domain = $1 AND at > $2 AND at <= $3 ORDER BY at, id
"""
PRUNE_EVERY_S = 60.0


def source_name() -> str:
    """This guard, as the record names it: host, pid, start time and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}:{secrets.token_hex(3)}"


def look_outcome(decision: Decision, *, dry_run: bool) -> str:
    """How a look is recorded: rollback or dry_run when it acted, else its worst verdict."""
    if decision.rollback is not None:
        return "dry_run" if dry_run else "rollback"
    outcomes = {v.outcome.value for v in decision.verdicts}
    return next((o for o in ("fail", "inconclusive") if o in outcomes), "pass")


def _bits(call: Call) -> int:
    return (
        LEGACY_FAULT * call.legacy_fault
        + ASYNC_FAULT * call.async_fault
        + COMPARED * call.compared
        + DIVERGED * call.diverged
    )


def _call(at: float, legacy_s: float, async_s: float, bits: int, lag_s: float) -> Call:
    return Call(
        at, legacy_s, async_s, bool(bits & LEGACY_FAULT), bool(bits & ASYNC_FAULT),
        bool(bits & COMPARED), bool(bits & DIVERGED), lag_s,
    )  # fmt: skip


class GuardRecord:
    """Writes the guard's calls and looks; one connection, reopened after a failure."""

    def __init__(self, database_url: str, retention_s: float, timeout: float = 5.0) -> None:
        self.source = source_name()
        self._url = database_url
        self._retention_s = retention_s
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._pruned_at = 0.0
        self._down = False

    async def write(
        self, calls: Mapping[tuple[str, Mode], Sequence[Call]],
        looks: Sequence[tuple[Decision, str]], now: float,
    ) -> bool:  # fmt: skip
        """Record one look's calls and decisions; False (and nothing written) on failure."""
        try:
            conn = await self._connection()
            async with conn.transaction():
                await self._insert(conn, calls, looks)
                if now - self._pruned_at >= PRUNE_EVERY_S:
                    for statement in PRUNE:
                        await conn.execute(statement, now - self._retention_s)
                    self._pruned_at = now
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            await self._lost(exc)
            return False
        if self._down:
            self._down = False
            structlog.get_logger().info("guard.record_restored")
        return True

    async def _insert(
        self, conn: asyncpg.Connection, calls: Mapping[tuple[str, Mode], Sequence[Call]],
        looks: Sequence[tuple[Decision, str]],
    ) -> None:  # fmt: skip
        rows = [
            (self.source, domain, mode, kept[0].at, kept[-1].at, [c.at for c in kept],
             [c.legacy_s for c in kept], [c.async_s for c in kept], [_bits(c) for c in kept],
             [c.loop_lag_s for c in kept])
            for (domain, mode), kept in calls.items() if kept and mode != "legacy"
        ]  # fmt: skip
        if rows:
            await conn.executemany(INSERT_CALLS, rows, timeout=self._timeout)
        looked = [
            (self.source, d.domain, d.mode, d.at, outcome, d.streak, _decided(d, outcome))
            for d, outcome in looks
        ]
        if looked:
            await conn.executemany(INSERT_LOOK, looked, timeout=self._timeout)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._url, timeout=self._timeout)
        return self._conn

    async def _lost(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            structlog.get_logger().warning("guard.record_unavailable", error=str(exc))
        await self.close()

    async def close(self) -> None:
        """Close the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()


def _decided(decision: Decision, outcome: str) -> str | None:
    if decision.rollback is not None:
        return json.dumps(decision.figures(), default=str)
    if outcome == "fail":
        return json.dumps([v.as_dict() for v in decision.failed], default=str)
    return None


@dataclass(frozen=True, slots=True)
class LookRow:
    """One recorded look: when, in which mode, what it concluded."""

    source: str
    mode: Mode
    at: float
    outcome: str
    streak: int
    decided_by: Any


@dataclass(frozen=True, slots=True)
class Recorded:
    """A stretch of the record of one domain, per source (process)."""

    calls: dict[str, dict[str, list[Call]]]  # source → mode → calls, by time
    looks: dict[str, list[LookRow]]  # source → looks, by time


async def load(
    database_url: str, domain: str, since: float, until: float, window_s: float
) -> Recorded:
    """The calls (from ``window_s`` before ``since``) and looks of ``domain`` up to ``until``."""
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        call_rows = await conn.fetch(SELECT_CALLS, domain, since - window_s, until)
        look_rows = await conn.fetch(SELECT_LOOKS, domain, since, until)
    finally:
        await conn.close()
    calls: dict[str, dict[str, list[Call]]] = {}
    for row in call_rows:
        kept = calls.setdefault(row["source"], {}).setdefault(row["mode"], [])
        lags = row["loop_lag_s"] or [0.0] * len(row["at"])  # recorded before migration 0007
        kept.extend(map(_call, row["at"], row["legacy_s"], row["async_s"], row["bits"], lags))
    for modes in calls.values():
        for kept in modes.values():
            kept.sort(key=lambda c: c.at)
    looks: dict[str, list[LookRow]] = {}
    for row in look_rows:
        decided = json.loads(row["decided_by"]) if row["decided_by"] else None
        look = LookRow(
            row["source"], row["mode"], row["at"], row["outcome"], row["streak"], decided
        )
        looks.setdefault(row["source"], []).append(look)
    return Recorded(calls, looks)
