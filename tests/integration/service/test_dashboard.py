"""The dashboard's pages, rendered by the real app over the real store and flags."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.integration.service.conftest import AUTH, DB_PASSWORD, RENDER_TIMES
from tests.integration.service.injection import attach_shadow, diverge, insert_groups

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


@pytest_asyncio.fixture(loop_scope="package")
async def signature(system: Any, player: dict) -> AsyncIterator[str]:
    """A divergence on ``stats.current_health``, stored through the real engine."""
    attach_shadow(system)
    result = diverge(system, player["player_id"], 90, 85)
    await system.divergences.flush()
    yield system.shadow.engine.divergence(result, {}).signature


class TestOverview:
    """One card per domain with its mode, figures and chart; flag changes listed."""

    async def test_cards(self, client: httpx.AsyncClient, signature: str) -> None:
        html = (await client.get("/dashboard")).text
        for domain in ("player", "room", "health", "container"):
            assert f'id="domain-{domain}"' in html
        assert 'data-mode="legacy"' in html and '<svg class="spark"' in html
        assert "divergence rate" in html and "p99" in html

    async def test_database_named_with_its_password_masked(self, client: httpx.AsyncClient) -> None:
        html = (await client.get("/dashboard")).text
        assert 'id="database">Database: <code>postgresql://postgres:***@127.0.0.1' in html
        assert DB_PASSWORD not in html

    async def test_mode_change_shows(self, client: httpx.AsyncClient) -> None:
        body = {"mode": "shadow", "reason": "dashboard test"}
        await client.put("/api/flags/item", json=body, headers=AUTH)
        try:
            html = (await client.get("/dashboard")).text
            card = html.split('id="domain-item"')[1].split("</article>")[0]
            assert 'data-mode="shadow"' in card and "set by ops" in card
            assert "dashboard test" in html
        finally:
            await client.put(
                "/api/flags/item", json={"mode": "legacy", "reason": "reset"}, headers=AUTH
            )


class TestDivergencePages:
    """The list filters; the detail page highlights the differing field."""

    async def test_list_and_filters(self, client: httpx.AsyncClient, signature: str) -> None:
        listed = (await client.get("/dashboard/divergences", params={"domain": "player"})).text
        other = (await client.get("/dashboard/divergences", params={"domain": "item"})).text
        assert f'data-signature="{signature}"' in listed
        assert f'data-signature="{signature}"' not in other

    async def test_detail_highlights_the_field(
        self, client: httpx.AsyncClient, signature: str
    ) -> None:
        html = (await client.get(f"/dashboard/divergences/{signature}")).text
        row = html.split('<tr class="diff"><td><code>value.stats.current_health</code></td>')[1]
        assert row.startswith("<td>90</td><td>85</td>")
        assert '<tr class=""><td><code>value.stats.max_health</code></td>' in html
        assert "root[&#39;stats&#39;][&#39;current_health&#39;]" in html

    async def test_unknown_signature(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/dashboard/divergences/nope")).status_code == 404


class TestFlagTimeline:
    """The audit log, newest first, guard rows marked."""

    async def test_timeline(self, client: httpx.AsyncClient, system: Any) -> None:
        await system.flags.set("room", "shadow", reason="error budget burnt", actor="guard")
        await system.flags.set("room", "legacy", reason="back", actor="ops")
        html = (await client.get("/dashboard/flags", params={"domain": "room"})).text
        assert '<tr class="guard">' in html and "error budget burnt" in html
        assert html.index(">back<") < html.index("error budget burnt")


class TestRenderTime:
    """The overview stays fast with 1,000 divergence groups stored."""

    async def test_overview_with_1000_groups(self, client: httpx.AsyncClient, system: Any) -> None:
        attach_shadow(system)
        conn = await asyncpg.connect(system.database_url)
        try:
            domains = [f["domain"] for f in (await client.get("/api/flags")).json()]
            await insert_groups(conn, domains, 1000)
            assert await conn.fetchval("SELECT count(*) FROM divergence_groups") >= 1000
            await client.get("/dashboard")  # warm the template cache
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                response = await client.get("/dashboard")
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            listing = time.perf_counter()
            assert (await client.get("/dashboard/divergences")).status_code == 200
            list_ms = (time.perf_counter() - listing) * 1000
        finally:
            await conn.execute("DELETE FROM divergence_groups WHERE signature LIKE 'bulk%'")
            await conn.close()
        best, worst = min(timings), max(timings)
        RENDER_TIMES.append(
            f"overview with 1,000 groups: best {best:.0f} ms, worst {worst:.0f} ms of 5; "
            f"divergence list: {list_ms:.0f} ms"
        )
        assert best < 1500, "the overview should render well under a second"
