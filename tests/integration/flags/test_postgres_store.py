"""The PostgreSQL flag store against a real PostgreSQL, migrated by Alembic (0002_flags).

Each test routes domains of its own, so tests sharing the session database never see each
other's flags.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from flags.model import FlagError, FlagProvider, FlagSourceUnavailable
from flags.postgres import LISTENER, PostgresFlagStore
from tests.integration.flags.conftest import eventually
from tests.integration.flags.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
FOLLOWER = Path(__file__).resolve().parent / "follower.py"


@pytest.fixture
def domains() -> list[str]:
    tag = secrets.token_hex(3)
    return [f"player_{tag}", f"room_{tag}"]


@pytest.fixture
async def store(database_url: str, domains: list[str]) -> AsyncIterator[PostgresFlagStore]:
    flags = PostgresFlagStore(database_url, domains, reload_interval=60)
    await flags.start()
    yield flags
    await flags.close()


async def rows(database_url: str, domains: list[str]) -> tuple[list[Any], list[Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        flags = await conn.fetch("SELECT * FROM flags WHERE domain = ANY($1)", domains)
        audit = await conn.fetch("SELECT * FROM flag_audit WHERE domain = ANY($1)", domains)
    finally:
        await conn.close()
    return [tuple(r) for r in flags], [tuple(r) for r in audit]


class TestSet:
    """A valid change is written with its audit row and applies at once in this process."""

    async def test_is_a_flag_provider(self, store: PostgresFlagStore) -> None:
        assert isinstance(store, FlagProvider)

    async def test_unset_domains_are_legacy(self, store: PostgresFlagStore, domains: list[str]):
        assert [s.mode for s in await store.list()] == ["legacy", "legacy"]
        assert store.mode_for(domains[0], "k", "api") == "legacy"

    async def test_set_applies_and_is_audited(self, store: PostgresFlagStore, domains: list[str]):
        player = domains[0]
        state = await store.set(
            player, "shadow", percent=40, services=["api"], reason="ramp", actor="ops"
        )
        assert (state.mode, state.percent, state.services) == ("shadow", 40, frozenset({"api"}))
        assert state.updated_by == "ops" and state.updated_at is not None
        assert await store.get(player) == state
        assert store.mode_for(player, "k", "worker") == "legacy"
        await store.set(player, "live", reason="go", actor="ops", forced=True, extra={"n": 1})
        newest, oldest = await store.history(player)
        assert (oldest.previous_mode, oldest.mode, oldest.services) == (None, "shadow", ("api",))
        assert (newest.previous_mode, newest.mode, newest.forced) == ("shadow", "live", True)
        assert (newest.actor, newest.reason, newest.extra) == ("ops", "go", {"n": 1})

    async def test_history_filters_and_limits(self, store: PostgresFlagStore, domains: list[str]):
        for mode in ("shadow", "live", "async"):
            await store.set(domains[1], mode, reason=f"to {mode}", actor="ops")
        assert [c.mode for c in await store.history(domains[1], limit=2)] == ["async", "live"]
        assert {c.domain for c in await store.history(limit=1000)} >= {domains[1]}
        with pytest.raises(FlagError, match="unknown domain"):
            await store.history("ghost")


BAD_CHANGES: list[tuple[str, str, dict[str, Any]]] = [
    ("ghost", "live", {}),
    ("{player}", "fast", {}),
    ("{player}", "live", {"percent": 101}),
    ("{player}", "live", {"percent": -5}),
    ("{player}", "live", {"percent": 12.5}),
    ("{player}", "live", {"reason": ""}),
    ("{player}", "live", {"actor": " "}),
    ("{player}", "live", {"services": "api"}),
    ("{player}", "live", {"extra": {"bad": object()}}),
]


class TestRejection:
    """Invalid changes raise ``FlagError`` and leave the flag and the audit log untouched."""

    @pytest.mark.parametrize(("domain", "mode", "override"), BAD_CHANGES)
    async def test_bad_change_changes_nothing(
        self,
        store: PostgresFlagStore,
        database_url: str,
        domains: list[str],
        domain: str,
        mode: str,
        override: dict[str, Any],
    ) -> None:
        await store.set(domains[0], "shadow", percent=10, reason="before", actor="ops")
        before = await rows(database_url, domains)
        change: dict[str, Any] = {"reason": "bad", "actor": "ops", **override}
        with pytest.raises(FlagError):
            await store.set(domain.format(player=domains[0]), mode, **change)
        assert await rows(database_url, domains) == before
        assert (await store.get(domains[0])).percent == 10

    async def test_database_checks_modes_and_percent(self, database_url: str) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            for mode, percent in (("fast", 100), ("live", 101), ("live", -1)):
                with pytest.raises(asyncpg.CheckViolationError):
                    await conn.execute(
                        "INSERT INTO flags (domain, mode, percent, updated_by, reason) "
                        "VALUES ('x', $1, $2, 'ops', 'test')",
                        mode,
                        percent,
                    )
        finally:
            await conn.close()


class TestFollowing:
    """Other stores on the same database see a change within a second, by NOTIFY."""

    async def test_another_store_in_this_process(
        self, store: PostgresFlagStore, database_url: str, domains: list[str]
    ) -> None:
        other = PostgresFlagStore(database_url, domains, reload_interval=60)
        await other.start()
        try:
            await store.set(domains[0], "async", reason="r", actor="ops", forced=True)
            assert await eventually(lambda: other.mode_for(domains[0], "k", None) == "async", 1)
        finally:
            await other.close()

    async def test_another_os_process_both_ways(
        self, store: PostgresFlagStore, database_url: str, domains: list[str]
    ) -> None:
        child = await asyncio.create_subprocess_exec(
            *(sys.executable, str(FOLLOWER), database_url, *domains),
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        try:
            assert await asyncio.wait_for(child.stdout.readline(), 10) == b"ready\n"
            sent = time.time()
            await store.set(domains[0], "live", reason="cross-process", actor="ops", forced=True)
            seen = await asyncio.wait_for(child.stdout.readline(), 5)
            assert float(seen.split()[1]) - sent < 1.0
            assert await eventually(lambda: store.mode_for(domains[1], "k", None) == "shadow", 1)
            assert await asyncio.wait_for(child.wait(), 5) == 0
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()


class TestOutage:
    """A lost database keeps the last known good flags, is logged once, and is recovered."""

    async def test_listener_killed_by_the_server_reconnects(
        self, store: PostgresFlagStore, database_url: str, domains: list[str]
    ) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                LISTENER,
            )
            assert killed >= 1
            await conn.execute(
                "INSERT INTO flags (domain, mode, updated_by, reason) "
                "VALUES ($1, 'live', 'sql', 'x')",
                domains[0],
            )
            await conn.execute("SELECT pg_notify('dualpath_flags', $1)", domains[0])
        finally:
            await conn.close()
        assert await eventually(lambda: store.mode_for(domains[0], "k", None) == "live", 2)

    async def test_unreachable_at_start(self, domains: list[str]) -> None:
        flags = PostgresFlagStore("postgresql://postgres@127.0.0.1:9/none", domains, timeout=1)
        with capture_logs() as logs:
            await flags.start()
            await asyncio.sleep(0.5)
            await flags.close()
        assert flags.mode_for(domains[0], "k", None) == "legacy"
        assert [e["event"] for e in logs] == ["flags.provider_unavailable"]
        with pytest.raises(FlagSourceUnavailable):
            await flags.set(domains[0], "live", reason="r", actor="ops")

    async def test_cut_connection_keeps_last_known_good(
        self, store: PostgresFlagStore, database_url: str, domains: list[str]
    ) -> None:
        await store.set(domains[0], "shadow", percent=100, reason="before", actor="ops")
        proxy = TcpProxy.in_front_of(database_url)
        await proxy.start()
        proxied = proxy.url_to(database_url)
        flags = PostgresFlagStore(proxied, domains, reload_interval=0.2, max_backoff=0.2)
        await flags.start()
        try:
            with capture_logs() as logs:
                await proxy.cut()
                await asyncio.sleep(1.5)
                assert flags.mode_for(domains[0], "k", None) == "shadow"
                assert not flags.available
                await store.set(
                    domains[0], "async", reason="during outage", actor="ops", forced=True
                )
                await proxy.start()
                await eventually(lambda: flags.mode_for(domains[0], "k", None) == "async", 2)
            events = [e["event"] for e in logs if e["event"].startswith("flags.provider")]
            assert events == ["flags.provider_unavailable", "flags.provider_recovered"]
        finally:
            await flags.close()
            await proxy.cut()
