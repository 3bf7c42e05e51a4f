"""Health, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.service.conftest import DB_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


class TestHealth:
    """``/healthz`` reports the database, the flag provider and the divergence queue."""

    async def test_healthy(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        body = response.json()
        assert response.status_code == 200 and body["status"] == "ok"
        database = body["checks"]["database"]
        assert database["ok"] is True
        assert database["url"].startswith("postgresql://postgres:***@127.0.0.1")
        assert DB_PASSWORD not in response.text
        assert body["checks"]["flags"] == {"provider": "postgres", "ok": True}
        assert "divergence_queue" in body["checks"]


class TestMetrics:
    """``/metrics`` exports HTTP metrics and the current mode of every domain."""

    async def test_mode_gauge_and_http_metrics(self, client: httpx.AsyncClient) -> None:
        await client.get("/api/rooms")
        text = (await client.get("/metrics")).text
        assert 'dualpath_flag_mode{domain="player",mode="legacy"} 1.0' in text
        assert 'dualpath_flag_mode{domain="player",mode="async"} 0.0' in text
        assert 'dualpath_http_requests_total{method="GET",route="/api/rooms",status="200"}' in text
        assert 'dualpath_http_request_duration_seconds_bucket{le="0.001",method="GET"' in text

    async def test_route_templates_not_raw_paths(self, client: httpx.AsyncClient) -> None:
        await client.get("/api/rooms/arkham_000")
        text = (await client.get("/metrics")).text
        assert 'route="/api/rooms/{room_id}"' in text and "arkham_000" not in text


class TestOpenAPI:
    """The OpenAPI document and its page are served."""

    async def test_openapi(self, client: httpx.AsyncClient) -> None:
        spec = (await client.get("/openapi.json")).json()
        for path in (
            "/api/players/{player_id}",
            "/api/flags/{domain}",
            "/api/divergences",
            "/api/containers/{container_id}/items",
            "/healthz",
        ):
            assert path in spec["paths"], path
        assert (await client.get("/docs")).status_code == 200
