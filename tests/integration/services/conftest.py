"""A whole system over a fresh, seeded database of its own, with three configured services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg2
import pytest
import pytest_asyncio

from tests.conftest import create_database, drop_database
from tests.integration.service.conftest import service_settings

SERVICES = (
    "combat_service", "user_manager", "health_service", "player_position_service",
    "npc_combat_integration_service", "corpse_lifecycle_service", "exploration_service",
)  # fmt: skip


@pytest.fixture(scope="package")
def services_database() -> Iterator[str]:
    """A migrated database with a small seeded world."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    url = create_database("dualpath_services")
    try:
        upgrade(url)
        seed_world(url, players=20, seed=5)
        yield url
    finally:
        drop_database(url)


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def system(services_database: str) -> AsyncIterator[Any]:
    """The system, counting ``SERVICES`` from the start and admitting at most 3 more names
    (the cap test takes them; other tests name configured services only)."""
    from app.bootstrap import open_system

    settings = service_settings(services_database).model_copy(
        update={"services": ",".join(SERVICES), "service_cap": 3}
    )
    async with open_system(settings) as opened:
        yield opened


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def client(system: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process, with its lifespan running."""
    from app.service import create_app

    app = create_app(system)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            yield http


def stored_calls(url: str, domain: str, operation: str) -> dict[str, tuple[int, ...]]:
    """Per service, (calls, legacy answered, async answered, comparisons) as stored."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT service, sum(calls), sum(legacy_answered), sum(async_answered), "
            "sum(comparisons) FROM service_rollup_minute WHERE domain = %s AND operation = %s "
            "GROUP BY service",
            (domain, operation),
        )
        rows = {row[0]: tuple(int(v) for v in row[1:]) for row in cur.fetchall()}
    conn.close()
    return rows
