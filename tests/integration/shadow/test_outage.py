"""When the store's database is down, callers are unaffected and writing resumes afterwards."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from structlog.testing import capture_logs

from persistence.migrate import upgrade
from shadow import FlushTimeout, Shadow
from tests.conftest import create_database, drop_database
from tests.database import admin_url, database_name
from tests.integration.shadow.conftest import MakeShadow, diverge

pytestmark = pytest.mark.integration


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(admin_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Outage:
    """Switch connections to one database off (terminating the open ones) and on again."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = database_name(url)

    async def begin(self) -> None:
        await admin(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false')
        await admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
        )

    async def end(self) -> None:
        await admin(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true')


@pytest.fixture
async def outage() -> AsyncIterator[Outage]:
    """A migrated database of its own that the test can take down."""
    url = create_database("dualpath_shadow_outage")
    try:
        upgrade(url)
        yield Outage(url)
    finally:
        await admin(f'ALTER DATABASE "{database_name(url)}" WITH ALLOW_CONNECTIONS true')
        drop_database(url)


def record_many(system: Shadow, n: int) -> float:
    """Observe one divergence, then record it ``n`` more times; the slowest record() in s."""
    divergence = system.engine.divergence(diverge(system), {})
    slowest = 0.0
    for _ in range(n):
        start = time.perf_counter()
        system.store.record(divergence)
        slowest = max(slowest, time.perf_counter() - start)
    return slowest


class TestStoreDown:
    """record() stays instant, drops are counted, the outage is logged once, then recovery."""

    async def test_outage_and_recovery(self, make_shadow: MakeShadow, outage: Outage) -> None:
        system = make_shadow(outage.url, max_queue=100, retry_max_s=0.2)
        diverge(system)
        await system.divergences.flush()
        with capture_logs() as logs:
            await outage.begin()
            slowest = record_many(system, 150)
            assert slowest < 0.005
            with pytest.raises(FlushTimeout):
                await system.divergences.flush(1.0)
            assert len(system.store) == 100
            assert system.store.dropped == 51  # 1 + 150 offered, 100 kept
            registry = system.metrics.registry
            assert registry.get_sample_value("dualpath_shadow_queue_dropped_total") == 51
            assert registry.get_sample_value("dualpath_shadow_queue_depth") == 100
            assert registry.get_sample_value("dualpath_shadow_store_failures_total", {}) >= 2  # type: ignore[operator]
            await outage.end()
            await system.divergences.flush(5.0)
        names = [e["event"] for e in logs]
        assert names.count("shadow.store_unavailable") == 1
        assert names.count("shadow.store_recovered") == 1
        recovered = next(e for e in logs if e["event"] == "shadow.store_recovered")
        assert recovered["dropped"] == 51
        (group,) = await system.divergences.groups()
        assert group.count == 1 + 100  # before the outage, and the whole queue
        assert len(system.store) == 0

    async def test_engine_unaffected_while_down(
        self, make_shadow: MakeShadow, outage: Outage
    ) -> None:
        system = make_shadow(outage.url, max_queue=10)
        await outage.begin()
        start = time.perf_counter()
        for i in range(20):
            diverge(system, i=i)
        assert time.perf_counter() - start < 1.0
        assert (len(system.store), system.store.dropped) == (10, 10)


async def test_unreachable_from_the_start(make_shadow: MakeShadow) -> None:
    """A store pointed at a closed port never blocks or raises into the engine."""
    system = make_shadow("postgresql://postgres@127.0.0.1:1/nowhere", max_queue=3)
    for i in range(5):
        diverge(system, i=i)
    assert (len(system.store), system.store.dropped) == (3, 2)
    with pytest.raises(FlushTimeout):
        await system.divergences.flush(0.5)
