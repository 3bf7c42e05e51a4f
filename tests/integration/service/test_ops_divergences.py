"""The ops API for divergences over the real store: list, read, ignore, reopen, fix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.integration.service.conftest import AUTH, WRONG
from tests.integration.service.injection import attach_shadow, diverge

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


@pytest_asyncio.fixture(loop_scope="package")
async def group(client: httpx.AsyncClient, system: Any, player: dict) -> AsyncIterator[dict]:
    """A fresh divergence group for this test (its own player id), as the API lists it."""
    attach_shadow(system)
    result = diverge(system, player["player_id"], 90, 70 + len(player["name"]))
    await system.divergences.flush()
    signature = system.shadow.engine.divergence(result, {}).signature
    yield (await client.get(f"/api/divergences/{signature}")).json()
    await system.divergences.reopen(signature, actor="test", reason="cleanup")


class TestReading:
    """Groups are listed with filters, and one group comes with its exemplars."""

    async def test_detail_has_exemplars(self, client: httpx.AsyncClient, group: dict) -> None:
        assert group["domain"] == "player" and group["kind"] == "result_mismatch"
        assert group["count"] >= 1 and group["status"] == "open"
        assert "root['stats']['current_health']" in group["diff_paths"]
        exemplar = group["exemplars"][0]
        assert exemplar["primary_path"] == "legacy" and exemplar["mode"] == "shadow"
        assert exemplar["primary_result"]["value"]["stats"]["current_health"] == 90

    async def test_filters(self, client: httpx.AsyncClient, group: dict) -> None:
        sig = group["signature"]
        listed = lambda r: sig in [g["signature"] for g in r.json()]  # noqa: E731
        assert listed(await client.get("/api/divergences", params={"domain": "player"}))
        assert listed(await client.get("/api/divergences", params={"status": "open"}))
        assert listed(await client.get("/api/divergences", params={"kind": "result_mismatch"}))
        assert not listed(await client.get("/api/divergences", params={"domain": "item"}))
        assert not listed(await client.get("/api/divergences", params={"status": "fixed"}))

    async def test_bad_filter_and_unknown_signature(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/divergences", params={"status": "gone"})).status_code == 422
        assert (await client.get("/api/divergences/" + "0" * 32)).status_code == 404


class TestDecisions:
    """Ignore, reopen and fix, each recorded with the token's name."""

    async def test_ignore_then_reopen(self, client: httpx.AsyncClient, group: dict) -> None:
        url = f"/api/divergences/{group['signature']}"
        ignored = await client.post(
            f"{url}/ignore", json={"reason": "known rounding"}, headers=AUTH
        )
        assert ignored.status_code == 200, ignored.text
        assert (ignored.json()["status"], ignored.json()["status_by"]) == ("ignored", "ops")
        reopened = await client.post(f"{url}/reopen", json={}, headers=AUTH)
        assert reopened.json()["status"] == "open"

    async def test_ignored_stops_counting(
        self, client: httpx.AsyncClient, system: Any, group: dict, player: dict
    ) -> None:
        url = f"/api/divergences/{group['signature']}"
        await client.post(f"{url}/ignore", json={"reason": "accepted"}, headers=AUTH)
        before = (await client.get(url)).json()["count"]
        diverge(system, player["player_id"], 90, 70 + len(player["name"]))
        await system.divergences.flush()
        assert (await client.get(url)).json()["count"] == before

    async def test_fixed(self, client: httpx.AsyncClient, group: dict) -> None:
        url = f"/api/divergences/{group['signature']}/fixed"
        response = await client.post(url, json={"reason": "patched"}, headers=AUTH)
        assert response.json()["status"] == "fixed"

    async def test_unknown_signature_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post(f"/api/divergences/{'f' * 32}/fixed", json={}, headers=AUTH)
        assert response.status_code == 404

    @pytest.mark.parametrize(("headers", "status"), [({}, 401), (WRONG, 403)])
    @pytest.mark.parametrize("action", ["ignore", "reopen", "fixed"])
    async def test_refused_without_a_valid_token(
        self, client: httpx.AsyncClient, group: dict, headers: dict, status: int, action: str
    ) -> None:
        url = f"/api/divergences/{group['signature']}"
        response = await client.post(f"{url}/{action}", json={"reason": "x"}, headers=headers)
        assert response.status_code == status
        after = (await client.get(url)).json()
        assert (after["status"], after["status_by"]) == (group["status"], group["status_by"])
