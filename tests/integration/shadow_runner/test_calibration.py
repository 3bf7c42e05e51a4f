"""A/A calibration: the primary's own path runs again, counted apart, and judges what is noise.

* A field that is random on both paths (a jitter) differs as often within the primary's path
  as between the paths: its group gets status ``noise``, with both rates and both n; a field
  the async path gets wrong stays ``open``. A noise group's divergences are still recorded
  but count as ignored (readiness and the guard do not see them); ops can reopen it.
* With calibration at 100% every shadowed write also runs again on the primary's path, rolled
  back: the rows end as after one write and each event is published once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from app.bootstrap import System
from app.operations import build_registry, shadow_writes
from persistence.events import HPChanged
from persistence.seed import SeedSummary
from routing import PersistenceRouter
from routing.shadowing import CalibrationConfig, RunnerConfig, ShadowRunner
from tests.integration.shadow_runner.conftest import set_mode, settle

pytestmark = pytest.mark.integration

CALLS = 60


class Jittered:
    """A path whose ``get_player_by_id`` returns a random ``stats.fear`` (0 or 1), and whose
    ``get_player_by_name`` (async side only, ``wrong_level``) returns the level plus one."""

    def __init__(self, target: Any, *, wrong_level: bool = False) -> None:
        self._target = target
        self._wrong_level = wrong_level

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def close(self) -> Any:
        """The system closes the real path; a router over this one must not."""
        return None


class JitteredLegacy(Jittered):
    def get_player(self, player_id: Any) -> Any:
        return _jitter(self._target.get_player(player_id))


class JitteredAsync(Jittered):
    async def close(self) -> None:  # type: ignore[override]
        """The system closes the real path."""

    async def get_player_by_id(self, player_id: Any) -> Any:
        return _jitter(await self._target.get_player_by_id(player_id))

    async def get_player_by_name(self, name: str) -> Any:
        player = await self._target.get_player_by_name(name)
        if player is not None and self._wrong_level:
            player = dataclasses.replace(player, level=player.level + 1)
        return player


def _jitter(player: Any) -> Any:
    if player is None:
        return None
    stats = dataclasses.replace(player.stats, fear=random.choice((0, 1)))
    return dataclasses.replace(player, stats=stats)


@pytest.fixture
async def calibrated_router(system: System) -> Any:
    """Routers over jittered paths, calibrating every call, judged by the system's engine."""
    built: list[PersistenceRouter] = []

    def build(percent: float = 100.0) -> PersistenceRouter:
        router = PersistenceRouter(
            build_registry(),
            legacy=JitteredLegacy(system.legacy),
            async_=JitteredAsync(system.async_layer, wrong_level=True),
            flags=system.flags,
            legacy_threads=4,
        )
        runner = ShadowRunner.for_router(
            router, system.shadow.engine, shadow_writes(), RunnerConfig(),
            calibration=CalibrationConfig(percent),
        )  # fmt: skip
        runner.install(router)
        router.runner = runner  # type: ignore[attr-defined]
        built.append(router)
        return router

    yield build
    for router in built:
        await router.runner.drain()  # type: ignore[attr-defined]
        await router.close()


async def _players(url: str, n: int) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(
            await conn.fetch("SELECT player_id, name FROM players ORDER BY name LIMIT $1", n)
        )
    finally:
        await conn.close()


async def _rollup_divergences(url: str, operation: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            "SELECT coalesce(sum(divergences), 0) FROM shadow_rollup_minute WHERE operation = $1",
            operation,
        )
    finally:
        await conn.close()
    return int(found)


async def _drive(router: PersistenceRouter, players: list[Any], calls: int) -> None:
    for i in range(calls):
        row = players[i % len(players)]
        await router.get_player_by_id(row["player_id"])
        await router.get_player_by_name(row["name"])
    await router.runner.drain()  # type: ignore[attr-defined]


async def _dashboard(system: System, path: str) -> str:
    """The dashboard page at ``path``, rendered by the service over ``system``."""
    import httpx

    from app.service import create_app

    app = create_app(system)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            response = await http.get(path)
    assert response.status_code == 200, response.text[-2000:]
    return response.text


class TestNoiseAgainstARealDifference:
    """A jitter on both paths is judged noise; a field only async gets wrong stays open."""

    async def test_noise_group_and_open_group(
        self, system: System, world: SeedSummary, calibrated_router: Callable[..., Any]
    ) -> None:
        await set_mode(system, "shadow", ("player",))
        router = calibrated_router()
        await _drive(router, await _players(system.database_url, 10), CALLS)
        await system.divergences.flush()
        noise_signatures = await system.divergences.calibrate()

        groups = {g.operation: g for g in await system.divergences.groups(domain="player")}
        jitter, wrong = groups["get_player_by_id"], groups["get_player_by_name"]
        assert jitter.status == "noise" and jitter.signature in noise_signatures
        assert jitter.status_by == "calibration"
        evidence = jitter.noise_evidence["paths"][0]
        assert evidence["path"] == "root['stats']['fear']"
        assert evidence["status"] == "noise"
        assert evidence["aa"]["n"] >= 30 and evidence["ab"]["n"] >= 30
        assert evidence["aa"]["diffs"] >= 3 and 0 < evidence["aa"]["rate"] < 1
        assert "Fisher" in evidence["rule"] and len(evidence["ab"]["ci"]) == 2

        assert wrong.status == "open"
        real = wrong.noise_evidence["paths"][0]
        assert real["path"] == "root['level']" and real["status"] == "real"
        assert real["aa"]["diffs"] == 0 and real["ab"]["diffs"] == real["ab"]["n"]

        page = await _dashboard(system, f"/dashboard/divergences/{jitter.signature}")
        assert 'id="calibration"' in page and "Accept ignore rule" in page
        assert f"{evidence['aa']['diffs']} / {evidence['aa']['n']} = " in page
        listed = await _dashboard(system, "/dashboard/divergences?status=noise")
        assert jitter.signature in listed and wrong.signature not in listed

    async def test_noise_is_recorded_but_not_counted_and_ops_can_reopen_it(
        self, system: System, world: SeedSummary, calibrated_router: Callable[..., Any]
    ) -> None:
        await set_mode(system, "shadow", ("player",))
        router = calibrated_router()
        players = await _players(system.database_url, 10)
        await _drive(router, players, CALLS)
        await system.divergences.flush()
        await system.divergences.calibrate()
        jitter = next(g for g in await system.divergences.groups(status="noise"))
        counted = await _rollup_divergences(system.database_url, "get_player_by_id")

        await _drive(router, players, 20)
        await system.divergences.flush()
        after = await system.divergences.group(jitter.signature)
        assert after.count > jitter.count  # still recorded, never hidden
        assert await _rollup_divergences(system.database_url, "get_player_by_id") == counted

        reopened = await system.divergences.reopen(jitter.signature, actor="ops", reason="look")
        assert reopened.status == "open" and reopened.noise_overruled
        await system.divergences.calibrate()
        assert (await system.divergences.group(jitter.signature)).status == "open"
        await _drive(router, players, 10)
        await system.divergences.flush()
        assert await _rollup_divergences(system.database_url, "get_player_by_id") > counted

    async def test_calibration_proposes_an_ignore_rule_and_accepting_it_is_audited(
        self, system: System, world: SeedSummary, calibrated_router: Callable[..., Any]
    ) -> None:
        await set_mode(system, "shadow", ("player",))
        router = calibrated_router()
        await _drive(router, await _players(system.database_url, 10), CALLS)
        noise = system.divergences.noise
        assert noise is not None
        proposals = await noise.proposals()
        assert [(p.verdict.operation, p.verdict.path) for p in proposals] == [
            ("get_player_by_id", "root['stats']['fear']")
        ]
        with pytest.raises(ValueError, match="not a proposal"):
            await noise.accept("player", "get_player_by_name", "root['level']", actor="ops")
        rule = await noise.accept(
            "player", "get_player_by_id", "root['stats']['fear']", actor="alice"
        )
        assert rule.owner == "alice" and rule.id is not None
        assert rule.reason.startswith("calibration: root['stats']['fear']: noise (A/B ")
        assert await noise.proposals() == []


class TestAAIsInvisible:
    """Calibrated writes land once and publish once; A/A is counted apart from A/B."""

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    async def test_writes_once_and_events_once(
        self, system: System, world: SeedSummary, mode: Any
    ) -> None:
        system.shadow_runner.calibration.config = CalibrationConfig(100.0)
        published: list[Any] = []
        system.events.subscribe(HPChanged, published.append)
        await set_mode(system, mode, ("health", "player"))
        player = await system.router.get_player_by_id(world.player_ids[0])
        before = player.stats.current_health
        for _ in range(10):  # one at a time: the next primary would preempt the shadows
            await system.router.damage_player(player, 1, "combat")
            await settle(system)

        stored = await asyncio.to_thread(system.legacy.get_player, world.player_ids[0])
        assert stored.stats.current_health == before - 10
        assert len([e for e in published if e.player_id == player.player_id]) == 10
        assert system.shadow_runner.calibration.calibrated == 10
        await system.shadow.calibration.flush()
        stored_counts = await system.shadow.calibration.load()
        assert stored_counts[("health", "damage_player")][""] == (10, 10)  # (A/A, A/B)
        assert await system.divergences.groups() == []


class TestCommandLine:
    """``divergences list`` shows the evidence; ``noise`` proposes; ``accept-noise`` accepts."""

    async def test_list_noise_and_accept(
        self, system: System, world: SeedSummary, calibrated_router: Callable[..., Any]
    ) -> None:
        from tests.integration.shadow_runner.test_cli import dualpath

        await set_mode(system, "shadow", ("player",))
        await _drive(calibrated_router(), await _players(system.database_url, 10), CALLS)
        await system.divergences.flush()
        await system.divergences.calibrate()
        url = system.database_url

        listed = await asyncio.to_thread(dualpath, url, "divergences", "list", "--status", "noise")
        assert listed.returncode == 0, listed.stderr
        assert "calibration noise: root['stats']['fear'] A/B " in listed.stdout
        shown = await asyncio.to_thread(dualpath, url, "divergences", "noise")
        assert "accept: dualpath divergences accept-noise player get_player_by_id" in shown.stdout
        path = "root['stats']['fear']"
        accepted = await asyncio.to_thread(
            dualpath, url, "divergences", "accept-noise", "player", "get_player_by_id", path,
            "--actor", "alice", "--json",
        )  # fmt: skip
        assert accepted.returncode == 0, accepted.stderr
        rule = json.loads(accepted.stdout)  # stdout is the answer alone
        assert (rule["owner"], rule["path"]) == ("alice", path)
        assert rule["reason"].startswith("calibration: root['stats']['fear']: noise")
        again = await asyncio.to_thread(
            dualpath, url, "divergences", "accept-noise", "player", "get_player_by_id", path
        )
        assert again.returncode == 2 and "not a proposal" in again.stderr
