"""Calibration and reproductions over the API and the dashboard: repro files, fixed versions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.integration.service.conftest import AUTH
from tests.integration.service.injection import attach_shadow, diverge

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


@pytest_asyncio.fixture(loop_scope="package")
async def group(client: httpx.AsyncClient, system: Any, player: dict) -> AsyncIterator[dict]:
    """A fresh divergence group (its own values), as the API lists it."""
    attach_shadow(system)
    result = diverge(system, player["player_id"], 61, 47)
    await system.divergences.flush()
    signature = system.shadow.engine.divergence(result, {}).signature
    yield (await client.get(f"/api/divergences/{signature}")).json()
    await system.divergences.reopen(signature, actor="test", reason="cleanup")


class TestReproduction:
    """Each group's reproduction is one request (and one button) away."""

    async def test_download(self, client: httpx.AsyncClient, group: dict) -> None:
        sig = group["signature"]
        response = await client.get(f"/api/divergences/{sig}/repro")
        assert response.status_code == 200
        assert f'filename="repro_{sig[:12]}.py"' in response.headers["content-disposition"]
        compile(response.text, "repro.py", "exec")
        assert sig in response.text and "replay(EXEMPLAR).assert_agree()" in response.text
        page = await client.get(f"/dashboard/divergences/{sig}")
        assert f'href="/api/divergences/{sig}/repro"' in page.text

    async def test_unknown_group_or_exemplar(self, client: httpx.AsyncClient, group: dict) -> None:
        sig = group["signature"]
        assert (await client.get(f"/api/divergences/{'0' * 32}/repro")).status_code == 404
        too_far = await client.get(f"/api/divergences/{sig}/repro", params={"exemplar": 99})
        assert too_far.status_code == 404


class TestFixedAndRecurred:
    """A fix records the running code version; a recurrence reopens with its version."""

    async def test_fixed_in_then_recurred_in(
        self, client: httpx.AsyncClient, system: Any, group: dict, player: dict
    ) -> None:
        sig, version = group["signature"], system.settings.code_version
        fixed = await client.post(f"/api/divergences/{sig}/fixed", json={}, headers=AUTH)
        assert fixed.json()["status"] == "fixed" and fixed.json()["fixed_version"] == version
        assert fixed.json()["recurred_version"] is None
        diverge(system, player["player_id"], 61, 47)
        await system.divergences.flush()
        again = (await client.get(f"/api/divergences/{sig}")).json()
        assert again["status"] == "open" and again["status_by"] == "shadow"
        assert (again["fixed_version"], again["recurred_version"]) == (version, version)
        page = await client.get(f"/dashboard/divergences/{sig}")
        assert f"fixed in <code>{version}</code>, recurred in <code>{version}</code>" in page.text


class TestNoiseApi:
    """Verdicts are readable; accepting needs a token and a path judged noise now."""

    async def test_verdicts_and_refused_accept(self, client: httpx.AsyncClient) -> None:
        verdicts = await client.get("/api/calibration/noise")
        assert verdicts.status_code == 200 and isinstance(verdicts.json(), list)
        body = {"domain": "player", "operation": "get_player_by_id", "path": "root['nope']"}
        assert (await client.post("/api/calibration/accept", json=body)).status_code == 401
        refused = await client.post("/api/calibration/accept", json=body, headers=AUTH)
        assert refused.status_code == 409 and "not a proposal" in refused.json()["detail"]
        listed = await client.get("/api/divergences", params={"status": "noise"})
        assert listed.status_code == 200
