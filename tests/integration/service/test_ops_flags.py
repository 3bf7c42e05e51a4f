"""The ops API for flags: reads are open, every write needs a valid bearer token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.service.conftest import ALICE, AUTH, WRONG

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


async def put_flag(
    client: httpx.AsyncClient, domain: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    """PUT a flag change with ``headers``."""
    body.setdefault("reason", "test")
    return await client.put(f"/api/flags/{domain}", json=body, headers=headers)


async def audit_count(client: httpx.AsyncClient) -> int:
    """How many rows the flag audit log holds (up to 1000)."""
    return len((await client.get("/api/flags/history", params={"limit": 1000})).json())


class TestReadingFlags:
    """Every domain is listed; one domain can be read; an unknown one is 404."""

    async def test_list_and_get(self, client: httpx.AsyncClient) -> None:
        flags = (await client.get("/api/flags")).json()
        domains = [f["domain"] for f in flags]
        assert {"player", "health", "container"} <= set(domains)
        one = (await client.get("/api/flags/health")).json()
        assert one["domain"] == "health" and one["mode"] in {"legacy", "shadow", "live", "async"}

    async def test_unknown_domain(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/flags/nonsense")).status_code == 404
        assert (await put_flag(client, "nonsense", AUTH, mode="shadow")).status_code == 404


class TestChangingFlags:
    """A change with a token is applied, audited under the token's name, and routes calls."""

    async def test_change_is_applied_and_audited(
        self, client: httpx.AsyncClient, system: Any
    ) -> None:
        response = await put_flag(
            client, "profession", ALICE, mode="shadow", percent=40, reason="canary for professions"
        )
        try:
            assert response.status_code == 200, response.text
            assert (response.json()["mode"], response.json()["percent"]) == ("shadow", 40)
            latest = (
                await client.get("/api/flags/history", params={"domain": "profession"})
            ).json()[0]
            assert (latest["actor"], latest["reason"], latest["mode"]) == (
                "alice",
                "canary for professions",
                "shadow",
            )
            assert (await system.flags.get("profession")).mode == "shadow"
        finally:
            await put_flag(client, "profession", AUTH, mode="legacy", reason="test done")

    async def test_services_and_force(self, client: httpx.AsyncClient) -> None:
        response = await put_flag(client, "room", AUTH, mode="live", services=["api"], force=True)
        try:
            assert response.json()["services"] == ["api"]
            latest = (await client.get("/api/flags/history", params={"limit": 1})).json()[0]
            assert (latest["domain"], latest["forced"], latest["actor"]) == ("room", True, "ops")
        finally:
            await put_flag(client, "room", AUTH, mode="legacy")

    async def test_bad_change_is_422(self, client: httpx.AsyncClient) -> None:
        for body in (
            {"mode": "sideways"},
            {"mode": "shadow", "percent": 101},
            {"mode": "shadow", "reason": "  "},
            {"mode": "shadow", "services": []},
        ):
            response = await put_flag(client, "room", AUTH, **body)
            assert response.status_code == 422, body

    async def test_bad_mode_changes_nothing(self, client: httpx.AsyncClient) -> None:
        before = (await client.get("/api/flags/room")).json()
        audited = await audit_count(client)
        response = await put_flag(client, "room", AUTH, mode="sideways")
        assert response.status_code == 422
        assert "mode" in response.text
        assert (await client.get("/api/flags/room")).json() == before
        assert await audit_count(client) == audited


class TestRefusedWrites:
    """Without a token 401, with a wrong one 403, and neither flag nor audit log changes."""

    @pytest.mark.parametrize(
        ("headers", "status"),
        [({}, 401), (WRONG, 403), ({"Authorization": "Basic b3BzOm9wcw=="}, 401)],
    )
    async def test_refused(self, client: httpx.AsyncClient, headers: dict, status: int) -> None:
        before = (await client.get("/api/flags/item")).json()
        audited = await audit_count(client)
        response = await put_flag(client, "item", headers, mode="async")
        assert response.status_code == status
        assert "token" in response.json()["detail"]
        assert (await client.get("/api/flags/item")).json() == before
        assert await audit_count(client) == audited

    async def test_refused_before_the_body_is_read(self, client: httpx.AsyncClient) -> None:
        response = await client.put("/api/flags/item", content=b"not json")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
