"""The built-in flag store: flags and their audit log in PostgreSQL, followed by LISTEN/NOTIFY.

Every process that uses the same database keeps the flags in memory and sees a change within
a second: ``set`` commits the flag row and its audit row in one transaction and sends
``NOTIFY dualpath_flags`` with the domain as payload; each store listens on that channel on
a connection of its own and reloads. A full reload every few seconds covers a lost
notification, and a dropped listening connection is reopened with backoff. While the
database is unreachable every domain keeps its last known good flag (``legacy`` if none).
"""

from __future__ import annotations

import builtins
import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from flags.current import CurrentFlags
from flags.listen import ChannelFollower
from flags.model import MODES, FlagChange, FlagError, FlagSourceUnavailable, FlagState, Mode
from flags.transitions import check_transition
from flags.validation import check_change, check_domain

CHANNEL = "dualpath_flags"
LISTENER = "dualpath-flags-listener"

SELECT_FLAGS = """
SELECT domain, mode, percent, services, updated_at, updated_by, reason
FROM flags WHERE domain = ANY($1::text[])
"""
LOCK_DOMAIN = "SELECT pg_advisory_xact_lock(hashtext('dualpath_flags:' || $1))"
SELECT_MODE = "SELECT mode FROM flags WHERE domain = $1"
UPSERT_FLAG = """
INSERT INTO flags (domain, mode, percent, services, updated_at, updated_by, reason)
VALUES ($1, $2, $3, $4, now(), $5, $6)
ON CONFLICT (domain) DO UPDATE SET mode = EXCLUDED.mode, percent = EXCLUDED.percent,
    services = EXCLUDED.services, updated_at = EXCLUDED.updated_at,
    updated_by = EXCLUDED.updated_by, reason = EXCLUDED.reason
RETURNING domain, mode, percent, services, updated_at, updated_by, reason
"""
INSERT_AUDIT = """
INSERT INTO flag_audit (domain, previous_mode, mode, percent, services, reason, actor,
                        forced, extra, changed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
"""
SELECT_AUDIT = """
SELECT id, domain, previous_mode, mode, percent, services, reason, actor, forced,
       extra::text AS extra, changed_at
FROM flag_audit WHERE ($1::text IS NULL OR domain = $1) ORDER BY id DESC LIMIT $2
"""
UNREACHABLE = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresError)
REJECTED = (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError)


class PostgresFlagStore:
    """A ``FlagProvider`` backed by the ``flags`` and ``flag_audit`` tables (migration 0002)."""

    name = "postgres"
    audit_in_database = True  # ``set`` writes flag_audit itself (flags.overrides reads this)

    def __init__(
        self,
        database_url: str,
        domains: Sequence[str],
        *,
        reload_interval: float = 5.0,
        max_backoff: float = 5.0,
        timeout: float = 5.0,
    ) -> None:
        self._url = database_url
        self._flags = CurrentFlags(domains, self.name)
        self._timeout = timeout
        self._follower = ChannelFollower(
            database_url,
            channel=CHANNEL,
            application_name=LISTENER,
            provider=self.name,
            load=self._load,
            apply=self._apply_rows,
            reload_interval=reload_interval,
            max_backoff=max_backoff,
            timeout=timeout,
        )

    @property
    def available(self) -> bool:
        """False while the listening connection is down."""
        return self._follower.available

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The mode for one call; in memory, never raises."""
        return self._flags.table.mode_for(domain, key, service)

    async def start(self) -> None:
        """Load the flags (or note that the database is down) and begin following changes."""
        await self._follower.start()

    async def close(self) -> None:
        """Stop following changes and close the listening connection."""
        await self._follower.close()

    async def set(
        self,
        domain: str,
        mode: Mode,
        *,
        percent: int = 100,
        services: Sequence[str] | None = None,
        reason: str,
        actor: str,
        forced: bool = False,
        extra: Mapping[str, object] | None = None,
    ) -> FlagState:
        """Write the flag and its audit row in one transaction, then notify every process.

        A jump past the next mode raises ``TransitionError`` unless ``forced`` (see
        ``flags.transitions``); the check runs under the domain's lock, against the stored mode.
        """
        wanted = check_change(
            self._flags.domains,
            domain,
            mode,
            percent=percent,
            services=services,
            reason=reason,
            actor=actor,
        )
        extra_json = _extra_json(extra)
        async with self._connection() as conn, conn.transaction():
            row = await _write(conn, wanted, forced=forced, extra_json=extra_json)
        state = _state(row)
        self._flags.update([state])
        return state

    async def get(self, domain: str) -> FlagState:
        """The flag of one domain as this process last loaded it."""
        return self._flags.get(domain)

    async def list(self) -> builtins.list[FlagState]:
        """Every known domain's flag as this process last loaded it."""
        return self._flags.all()

    async def history(
        self, domain: str | None = None, limit: int = 100
    ) -> builtins.list[FlagChange]:
        """The audit log from the database, newest first."""
        if domain is not None:
            check_domain(self._flags.domains, domain)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise FlagError(f"limit must be a positive integer, got {limit!r}")
        async with self._connection() as conn:
            rows = await conn.fetch(SELECT_AUDIT, domain, limit, timeout=self._timeout)
        return [change_from_row(row) for row in rows]

    async def _load(self, conn: asyncpg.Connection) -> builtins.list[asyncpg.Record]:
        return await conn.fetch(SELECT_FLAGS, list(self._flags.domains), timeout=self._timeout)

    def _apply_rows(self, rows: builtins.list[asyncpg.Record]) -> None:
        states = {domain: FlagState(domain) for domain in self._flags.domains}
        for row in rows:
            if row["mode"] in MODES:
                states[row["domain"]] = _state(row)
            else:  # unreadable row: keep this domain's last known good flag
                del states[row["domain"]]
        self._flags.update(states.values())

    @contextlib.asynccontextmanager
    async def _connection(self) -> Any:
        """A short-lived connection whose driver errors become our exceptions."""
        try:
            conn = await asyncpg.connect(self._url, timeout=self._timeout)
        except UNREACHABLE as exc:
            raise FlagSourceUnavailable(f"flag database unreachable: {exc}") from exc
        try:
            yield conn
        except REJECTED as exc:
            raise FlagError(f"the flag database rejected the change: {exc}") from exc
        except UNREACHABLE as exc:
            raise FlagSourceUnavailable(f"flag database failed: {exc}") from exc
        finally:
            await _close(conn, self._timeout)


async def _close(conn: asyncpg.Connection, seconds: float) -> None:
    try:
        await conn.close(timeout=seconds)
    except UNREACHABLE:
        conn.terminate()


async def _write(
    conn: asyncpg.Connection, wanted: FlagState, *, forced: bool, extra_json: str
) -> asyncpg.Record:
    await conn.execute(LOCK_DOMAIN, wanted.domain)
    previous = await conn.fetchval(SELECT_MODE, wanted.domain)
    check_transition(previous, wanted.mode, forced=forced)
    services = sorted(wanted.services) if wanted.services is not None else None
    row = await conn.fetchrow(
        UPSERT_FLAG,
        wanted.domain,
        wanted.mode,
        wanted.percent,
        services,
        wanted.updated_by,
        wanted.reason,
    )
    await conn.execute(
        INSERT_AUDIT,
        *(wanted.domain, previous, wanted.mode, wanted.percent, services),
        *(wanted.reason, wanted.updated_by, forced, extra_json, row["updated_at"]),
    )
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, wanted.domain)
    return row


def _extra_json(extra: Mapping[str, object] | None) -> str:
    try:
        return json.dumps(dict(extra or {}))
    except (TypeError, ValueError) as exc:
        raise FlagError(f"extra must be JSON-serialisable: {exc}") from exc


def _state(row: asyncpg.Record) -> FlagState:
    services = row["services"]
    return FlagState(
        domain=row["domain"],
        mode=row["mode"],
        percent=row["percent"],
        services=frozenset(services) if services is not None else None,
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        reason=row["reason"],
    )


def change_from_row(row: asyncpg.Record) -> FlagChange:
    """One ``flag_audit`` row, as read by ``SELECT_AUDIT``."""
    services = row["services"]
    return FlagChange(
        id=row["id"],
        domain=row["domain"],
        mode=row["mode"],
        percent=row["percent"],
        services=tuple(services) if services is not None else None,
        reason=row["reason"],
        actor=row["actor"],
        changed_at=row["changed_at"],
        previous_mode=row["previous_mode"],
        forced=row["forced"],
        extra=json.loads(row["extra"]),
    )
