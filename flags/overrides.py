"""Local overrides: a cap on a domain's mode, in PostgreSQL, that every process applies at once.

:class:`OverriddenFlags` wraps any ``FlagProvider``. When the guard rolls a domain back it
writes an override (``flag_overrides``, migration 0004) saying "route no call of this domain
above ``mode``"; every process follows the table by LISTEN/NOTIFY on ``dualpath_flag_overrides``
(plus a full reload every few seconds), so the cap applies everywhere within a second,
whichever provider holds the flags: PostgreSQL, Unleash (with or without an admin token) or
the environment.

A cap keeps each call's own decision when it is at or below the cap: a domain at ``live``
25 % capped at ``shadow`` sends those 25 % to ``shadow`` and the rest stays ``legacy``.

The next explicit ``set`` of the domain clears its override (after the provider accepted the
change). Setting the mode the provider already holds clears it without writing the provider,
which is how a read-only provider's override is lifted. Setting and clearing are audited in
``flag_audit``, with ``extra.override`` = ``"set"`` or ``"cleared"``.

If the database is down, an override still applies in this process at once and is written
when the database is back; ``mode_for`` never does I/O and never raises.
"""

from __future__ import annotations

import builtins
import contextlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog

from flags.current import CurrentFlags
from flags.listen import ChannelFollower
from flags.model import (
    SAFE_MODE,
    FlagChange,
    FlagProvider,
    FlagSourceUnavailable,
    FlagState,
    Mode,
    Override,
)
from flags.postgres import INSERT_AUDIT, SELECT_AUDIT, UNREACHABLE, change_from_row
from flags.transitions import RANK, check_transition
from flags.validation import check_change, check_domain, check_mode, check_text

__all__ = ["CHANNEL", "OverriddenFlags", "Override"]

CHANNEL = "dualpath_flag_overrides"
LISTENER = "dualpath-overrides-listener"
SELECT_OVERRIDES = """
SELECT domain, mode, reason, actor, extra::text AS extra, created_at FROM flag_overrides
WHERE domain = ANY($1::text[])
"""
UPSERT_OVERRIDE = """
INSERT INTO flag_overrides (domain, mode, reason, actor, extra, created_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (domain) DO UPDATE SET mode = EXCLUDED.mode, reason = EXCLUDED.reason,
    actor = EXCLUDED.actor, extra = EXCLUDED.extra, created_at = EXCLUDED.created_at
"""
DELETE_OVERRIDE = "DELETE FROM flag_overrides WHERE domain = $1"
SELECT_OVERRIDE_AUDIT = SELECT_AUDIT.replace(
    "WHERE (", "WHERE (extra ? 'override' OR extra ? 'dry_run') AND ("
)


class OverriddenFlags:
    """A ``FlagProvider`` that applies local overrides on top of another provider."""

    def __init__(
        self,
        inner: FlagProvider,
        database_url: str,
        domains: Sequence[str],
        *,
        reload_interval: float = 5.0,
        max_backoff: float = 2.0,
        timeout: float = 5.0,
    ) -> None:
        self.inner = inner
        self.name = inner.name  # overrides are a layer, not a source of flags
        self._url = database_url
        self._domains = CurrentFlags(domains, "overrides").domains
        self._timeout = timeout
        self._overrides: dict[str, Override] = {}
        self._caps: dict[str, tuple[int, Mode]] = {}
        self._writing: dict[str, Override] = {}  # being written now: kept across reloads
        self._unwritten: dict[str, Override] = {}  # failed to write: written on reconnect
        self._follower = ChannelFollower(
            database_url,
            channel=CHANNEL,
            application_name=LISTENER,
            provider="overrides",
            load=self._load,
            apply=self._apply_rows,
            reload_interval=reload_interval,
            max_backoff=max_backoff,
            timeout=timeout,
        )

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The provider's mode for this call, lowered to the domain's cap if it has one."""
        try:
            mode = self.inner.mode_for(domain, key, service)
            cap = self._caps.get(domain)
        except Exception:  # the router guards too; this layer keeps the promise on its own
            return SAFE_MODE
        if cap is None or RANK[mode] <= cap[0]:
            return mode
        return cap[1]

    @property
    def available(self) -> bool:
        """True while both the wrapped provider and the overrides are followed."""
        return self.inner.available and self._follower.available

    @property
    def audit_in_database(self) -> bool:
        """The wrapped provider's: overrides add their own audit rows only where it does not."""
        return self.inner.audit_in_database

    def overrides(self) -> dict[str, Override]:
        """The overrides in force, by domain."""
        return dict(self._overrides)

    def override_for(self, domain: str) -> Override | None:
        """The override of ``domain``, or None."""
        return self._overrides.get(domain)

    async def effective_mode(self, domain: str) -> Mode:
        """The domain's flag mode as capped by its override: what its rolled-out keys get."""
        mode = (await self.inner.get(domain)).mode
        override = self._overrides.get(domain)
        if override is not None and RANK[mode] > RANK[override.mode]:
            return override.mode
        return mode

    async def start(self) -> None:
        """Start the wrapped provider, load the overrides and follow them."""
        await self.inner.start()
        await self._follower.start()

    async def close(self) -> None:
        """Stop following overrides and close the wrapped provider."""
        await self._follower.close()
        await self.inner.close()

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
        """An explicit change: checked against the capped mode, then clears the override."""
        wanted = check_change(
            self._domains, domain, mode, percent=percent, services=services,
            reason=reason, actor=actor,
        )  # fmt: skip
        check_transition(await self.effective_mode(domain), wanted.mode, forced=forced)
        override = self._overrides.get(domain)
        current = await self.inner.get(domain)
        if override is not None and _same_routing(current, wanted):
            await self._clear(override, current, wanted, forced=forced, audit=True)
            return current
        state = await self.inner.set(
            domain, wanted.mode, percent=wanted.percent, services=_listed(wanted.services),
            reason=wanted.reason or reason, actor=wanted.updated_by or actor,
            forced=forced, extra=extra,
        )  # fmt: skip
        if override is not None:
            audit = not self.inner.audit_in_database
            await self._clear(override, state, wanted, forced=forced, audit=audit)
        return state

    async def override(
        self,
        domain: str,
        mode: Mode,
        *,
        reason: str,
        actor: str,
        extra: Mapping[str, object] | None = None,
        audit: bool = True,
    ) -> Override:
        """Cap ``domain`` at ``mode`` in this process now, and in every process once written.

        ``audit=False`` leaves the audit row to a provider ``set`` that follows (the guard
        does that with the PostgreSQL store, so one rollback is one row).
        """
        override = Override(
            check_domain(self._domains, domain),
            check_mode(mode),
            check_text(reason, "reason"),
            check_text(actor, "actor"),
            extra=json.loads(json.dumps(dict(extra or {}), default=str)),
        )
        previous = await self.effective_mode(domain)
        self._writing[domain] = override
        self._apply({**self._overrides, domain: override})
        try:
            await self._write(override, previous, audit=audit)
        except FlagSourceUnavailable as exc:
            self._unwritten[domain] = override
            structlog.get_logger().warning(
                "flags.override_unwritten", domain=domain, mode=override.mode, error=str(exc)
            )
        finally:
            if self._writing.get(domain) is override:
                del self._writing[domain]
        return override

    async def note(
        self, domain: str, *, reason: str, actor: str, extra: Mapping[str, object]
    ) -> None:
        """An audit row that changes nothing: the guard's dry-run decisions.

        It keeps the mode the domain runs (``previous_mode`` = ``mode``) and goes to
        ``flag_audit`` whichever provider holds the flags, so ``history`` shows it.
        """
        check_domain(self._domains, domain)
        mode = await self.effective_mode(domain)
        state = await self.inner.get(domain)
        row = json.dumps(dict(extra), default=str)
        async with self._connection() as conn:
            await conn.execute(
                INSERT_AUDIT, domain, mode, mode, state.percent, _listed(state.services),
                check_text(reason, "reason"), check_text(actor, "actor"), False, row,
                datetime.now(UTC),
            )  # fmt: skip

    async def get(self, domain: str) -> FlagState:
        """The wrapped provider's flag of ``domain`` (its override is ``override_for``)."""
        return await self.inner.get(domain)

    async def list(self) -> builtins.list[FlagState]:
        """The wrapped provider's flags."""
        return await self.inner.list()

    async def history(
        self, domain: str | None = None, limit: int = 100
    ) -> builtins.list[FlagChange]:
        """The provider's audit log, with the override rows when it keeps its log elsewhere."""
        changes = await self.inner.history(domain, limit)
        if self.inner.audit_in_database:
            return changes
        try:
            async with self._connection() as conn:
                rows = await conn.fetch(SELECT_OVERRIDE_AUDIT, domain, limit)
        except FlagSourceUnavailable:
            return changes
        merged = [*changes, *(change_from_row(row) for row in rows)]
        merged.sort(key=lambda c: c.changed_at, reverse=True)
        return merged[:limit]

    def _apply(self, overrides: dict[str, Override]) -> None:
        self._overrides = overrides
        self._caps = {d: (RANK[o.mode], o.mode) for d, o in overrides.items()}

    async def _write(self, override: Override, previous: Mode, *, audit: bool) -> None:
        state = await self.inner.get(override.domain)
        audit_extra = {**override.extra, "override": "set"}
        async with self._connection() as conn, conn.transaction():
            await conn.execute(
                UPSERT_OVERRIDE, override.domain, override.mode, override.reason,
                override.actor, json.dumps(override.extra), override.created_at,
            )  # fmt: skip
            if audit:
                await conn.execute(
                    INSERT_AUDIT, override.domain, previous, override.mode, state.percent,
                    _listed(state.services), override.reason, override.actor, False,
                    json.dumps(audit_extra), override.created_at,
                )  # fmt: skip
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, override.domain)

    async def _clear(
        self, override: Override, state: FlagState, wanted: FlagState, *, forced: bool, audit: bool
    ) -> None:
        async with self._connection() as conn, conn.transaction():
            await conn.execute(DELETE_OVERRIDE, override.domain)
            if audit:
                await conn.execute(
                    INSERT_AUDIT, override.domain, override.mode, state.mode, state.percent,
                    _listed(state.services), wanted.reason, wanted.updated_by, forced,
                    json.dumps({"override": "cleared"}), datetime.now(UTC),
                )  # fmt: skip
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, override.domain)
        self._unwritten.pop(override.domain, None)
        self._writing.pop(override.domain, None)
        remaining = dict(self._overrides)
        remaining.pop(override.domain, None)
        self._apply(remaining)

    async def _load(self, conn: asyncpg.Connection) -> builtins.list[asyncpg.Record]:
        for domain, unwritten in list(self._unwritten.items()):
            await conn.execute(
                UPSERT_OVERRIDE, domain, unwritten.mode, unwritten.reason, unwritten.actor,
                json.dumps(unwritten.extra), unwritten.created_at,
            )  # fmt: skip
            self._unwritten.pop(domain, None)
        return await conn.fetch(SELECT_OVERRIDES, list(self._domains), timeout=self._timeout)

    def _apply_rows(self, rows: builtins.list[asyncpg.Record]) -> None:
        loaded = {row["domain"]: _override(row) for row in rows}
        loaded.update(self._writing)
        if loaded.keys() != self._overrides.keys() or any(
            self._overrides[d].mode != o.mode for d, o in loaded.items()
        ):
            _log_overrides(self._overrides, loaded)
        self._apply(loaded)

    @contextlib.asynccontextmanager
    async def _connection(self) -> Any:
        try:
            conn = await asyncpg.connect(self._url, timeout=self._timeout)
        except UNREACHABLE as exc:
            raise FlagSourceUnavailable(f"override database unreachable: {exc}") from exc
        try:
            yield conn
        except UNREACHABLE as exc:
            raise FlagSourceUnavailable(f"override database failed: {exc}") from exc
        finally:
            conn.terminate()


def _same_routing(state: FlagState, wanted: FlagState) -> bool:
    return (state.mode, state.percent, state.services) == (
        wanted.mode,
        wanted.percent,
        wanted.services,
    )


def _listed(services: frozenset[str] | None) -> list[str] | None:
    return sorted(services) if services is not None else None


def _override(row: asyncpg.Record) -> Override:
    return Override(
        domain=row["domain"],
        mode=row["mode"],
        reason=row["reason"],
        actor=row["actor"],
        created_at=row["created_at"],
        extra=json.loads(row["extra"]),
    )


def _log_overrides(before: Mapping[str, Override], after: Mapping[str, Override]) -> None:
    log = structlog.get_logger()
    for domain in sorted(before.keys() | after.keys()):
        old, new = before.get(domain), after.get(domain)
        if new is None:
            log.info("flags.override_cleared", domain=domain)
        elif old is None or old.mode != new.mode:
            log.info("flags.override_applied", domain=domain, mode=new.mode, actor=new.actor)
