"""The migration map's API: a cell's step targets one service, and only its calls move."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from routing.services import calling_service
from tests.integration.service.conftest import AUTH
from tests.integration.services.conftest import stored_calls
from tests.integration.services.test_attribution import delta, wait_for_mode

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]

REFRESH_S = 5.0  # the dashboard refreshes every 5 s


async def the_map(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/services")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def cell(found: dict[str, Any], service: str, domain: str) -> dict[str, Any]:
    row = next(r for r in found["services"] if r["service"] == service)
    value: dict[str, Any] = row["cells"][domain]
    return value


async def damage_as(system: Any, service: str | None, player_ids: list[Any]) -> None:
    """One damage write per player id, as ``service`` (or as nobody)."""
    for pid in player_ids:
        player = await system.router.get_player_by_id(pid)
        if service is None:
            await system.router.damage_player(player, 1, "test")
        else:
            with calling_service(service):
                await system.router.damage_player(player, 1, "test")


class TestTheMapShape:
    """Rows for the configured services and unattributed; a column per domain."""

    async def test_rows_and_columns(self, client: httpx.AsyncClient) -> None:
        found = await the_map(client)
        services = [r["service"] for r in found["services"]]
        assert services[:3] == ["combat_service", "user_manager", "health_service"]
        assert "unattributed" in services
        assert {"player", "room", "health", "container"} <= set(found["domains"])
        unattributed = cell(found, "unattributed", "health")
        assert unattributed["step"] is None and "name no service" in unattributed["step_refused"]

    async def test_unknown_service_readiness_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/services/no_such_service/readiness")
        assert response.status_code == 404


class TestTargetingOneService:
    """Targeting ``health`` at ``combat_service`` from the map moves only its calls."""

    async def test_step_from_the_map(
        self, client: httpx.AsyncClient, system: Any, services_database: str
    ) -> None:
        await system.flags.set("health", "legacy", reason="test", actor="test", forced=True)
        await wait_for_mode(system, "health", "legacy")
        found = await the_map(client)
        step = cell(found, "combat_service", "health")["step"]
        assert step["mode"] == "shadow" and step["services"] == ["combat_service"]
        assert cell(found, "user_manager", "health")["mode"] == "legacy"

        refused = await client.put("/api/flags/health", json=step)  # no token: nothing changes
        assert refused.status_code == 401
        assert (await system.flags.get("health")).services is None

        applied = await client.put("/api/flags/health", json=step, headers=AUTH)
        assert applied.status_code == 200, applied.text
        latest = (await client.get("/api/flags/history", params={"domain": "health"})).json()[0]
        assert (latest["actor"], latest["mode"], latest["services"]) == (
            "ops", "shadow", ["combat_service"],
        )  # fmt: skip
        try:
            await self.check_only_combat_moves(client, system, services_database)
        finally:
            await system.flags.set("health", "legacy", reason="test", actor="test", forced=True)

    async def check_only_combat_moves(
        self, client: httpx.AsyncClient, system: Any, url: str
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while system.flags.mode_for("health", None, "combat_service") != "shadow":
            assert loop.time() < deadline, "the flag change did not reach this process"
            await asyncio.sleep(0.01)
        ids = [p.player_id for p in await system.router.list_players(limit=6)]
        await system.attribution.flush()
        before = stored_calls(url, "health", "damage_player")
        await damage_as(system, "combat_service", ids[:3])
        await damage_as(system, "user_manager", ids[3:5])
        await damage_as(system, None, ids[5:6])
        await system.shadow_runner.drain()
        await self.check_the_map_shows_it(client)  # written by the system's own writer
        await system.attribution.flush()
        added = delta(before, stored_calls(url, "health", "damage_player"))
        # (calls, legacy answered, async answered, comparisons): only combat_service is shadowed
        assert added == {
            "combat_service": (3, 3, 0, 3),
            "user_manager": (2, 2, 0, 0),
            "unattributed": (1, 1, 0, 0),
        }

    async def check_the_map_shows_it(self, client: httpx.AsyncClient) -> None:
        """Within one refresh of the page (the writer writes the counts each second)."""
        started = time.monotonic()
        while True:
            found = await the_map(client)
            combat = cell(found, "combat_service", "health")
            if combat["comparisons"] >= 3 or time.monotonic() - started > REFRESH_S:
                break
            await asyncio.sleep(0.2)
        assert time.monotonic() - started <= REFRESH_S
        assert (combat["mode"], combat["targeted"]) == ("shadow", True)
        assert combat["comparisons"] >= 3 and combat["async_share"] == 0.0
        other = cell(found, "user_manager", "health")
        assert (other["mode"], other["targeted"], other["comparisons"]) == ("legacy", False, 0)
        assert cell(found, "unattributed", "health")["mode"] == "legacy"
        assert combat["step"]["mode"] == "live"  # the next step, for it alone
        joining = cell(found, "user_manager", "health")["step"]  # joins the shadow list
        assert (joining["mode"], joining["services"]) == (
            "shadow",
            ["combat_service", "user_manager"],
        )
        readiness = combat["readiness"]
        rate = next(v for v in readiness["verdicts"] if v["rule"] == "service_divergence_rate")
        assert rate["n"]["comparisons"] == combat["comparisons"]
        assert readiness["outcome"] == "inconclusive" and rate["needed"] > 0
