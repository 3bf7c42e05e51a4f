"""The demo traffic calls as services of the migration guide, and a little as none."""

from __future__ import annotations

from typing import Any

import psycopg2
import pytest

from app.service.traffic import DEMO_SERVICES, run_traffic

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]

GUIDE_SERVICES = {
    "combat_service", "player_death_service", "user_manager", "npc_combat_integration_service",
    "corpse_lifecycle_service", "wearable_container_service", "player_position_service",
    "npc_startup_service", "health_service", "environmental_container_loader",
    "exploration_service",
}  # fmt: skip


def calls_by_service(url: str) -> dict[str, int]:
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT service, sum(calls) FROM service_rollup_minute GROUP BY service")
        rows = {row[0]: int(row[1]) for row in cur.fetchall()}
    conn.close()
    return rows


class TestDemoTraffic:
    """``make run``'s workload populates several rows of the map."""

    async def test_the_demo_services_come_from_the_guide(self) -> None:
        named = {name for name in DEMO_SERVICES.values() if name}
        assert len(named) >= 5 and named <= GUIDE_SERVICES
        assert None in DEMO_SERVICES.values()

    async def test_traffic_as_services(self, system: Any, services_database: str) -> None:
        await system.attribution.flush()
        before = calls_by_service(services_database)
        report = await run_traffic(system.router, seconds=2, concurrency=3, seed=4, services=True)
        await system.shadow_runner.drain()
        await system.attribution.flush()
        after = calls_by_service(services_database)
        added = {s: n - before.get(s, 0) for s, n in after.items() if n > before.get(s, 0)}
        assert report.total > 20
        assert len(set(added) & GUIDE_SERVICES) >= 4
        assert added.get("unattributed", 0) > 0
        # a little unattributed: the named services make most of the calls
        assert added["unattributed"] < sum(added.values()) / 4
