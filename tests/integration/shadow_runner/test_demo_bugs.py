"""``dualpath run --demo-bug``: each deliberate bug diverges, and its reproduction fails."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import System, open_system
from app.demo_bugs import DEMO_BUGS, install, version_with
from app.repro import exemplar_data, replay
from persistence.seed import SeedSummary
from tests.integration.shadow_runner.conftest import (
    clear_divergences,
    set_mode,
    settings_for,
    settle,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


async def _diverge(system: System, world: SeedSummary) -> dict[str, Any]:
    await set_mode(system, "shadow", ("health", "player"))
    try:
        player = await system.router.get_player_by_id(world.player_ids[5])
        await system.router.damage_player(player, 2, "combat")
        await settle(system)
        (group,) = await system.divergences.groups(domain="health", status="open")
        (exemplar,) = await system.divergences.exemplars(group.signature)
        return exemplar_data(group, exemplar)
    finally:
        await set_mode(system, "legacy", ("health", "player"))


class TestDemoBug:
    """The off-by-one damage diverges; its reproduction fails with the bug, passes without."""

    async def test_divergence_then_failing_reproduction(
        self, database_url: str, world: SeedSummary
    ) -> None:
        await clear_divergences(database_url)
        version = version_with("dev", "damage-off-by-one")
        with install("damage-off-by-one"):  # before the system binds the async path's methods
            async with open_system(settings_for(database_url, code_version=version)) as system:
                data = await _diverge(system, world)
        assert data["code_version"] == "dev+demo-bug.damage-off-by-one"
        assert data["code_version"] == "dev+demo-bug.damage-off-by-one"
        assert data["captured"][0]["groups"][0]["table"] == "players"

        # on a fresh database of the test PostgreSQL: the reproduction carries its rows
        bugged = await asyncio.to_thread(replay, data)
        assert {"root", "events[0]['delta']"} <= set(bugged.diff), bugged.diff
        with pytest.raises(AssertionError, match="the paths disagree"):
            bugged.assert_agree()
        fixed = await asyncio.to_thread(replay, {**data, "code_version": "dev"})
        assert fixed.agree, fixed.diff

    def test_each_bug_replaces_its_method_only_while_installed(self) -> None:
        from persistence.async_layer import AsyncPersistenceLayer

        for name, bug in DEMO_BUGS.items():
            original = getattr(AsyncPersistenceLayer, bug.method)
            with install(name):
                assert getattr(AsyncPersistenceLayer, bug.method) is not original
            assert getattr(AsyncPersistenceLayer, bug.method) is original
        assert dataclasses.is_dataclass(next(iter(DEMO_BUGS.values())))


def test_help_lists_the_bugs_and_an_unknown_one_is_refused() -> None:
    cli = "from app.cli import main; main()"
    shown = subprocess.run(
        [sys.executable, "-c", cli, "run", "--help"], capture_output=True, text=True,
        cwd=ROOT, check=False, timeout=120, env={"COLUMNS": "400", "PATH": "/usr/bin"},
    )  # fmt: skip
    assert shown.returncode == 0
    for name in DEMO_BUGS:
        assert name in shown.stdout
    refused = subprocess.run(
        [sys.executable, "-c", cli, "run", "--demo-bug", "nope"], capture_output=True,
        text=True, cwd=ROOT, check=False, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and "--demo-bug must be one of" in refused.stderr


class TestReadReproduction:
    """A read's reproduction carries the row the primary's read returned."""

    async def test_player_level_read(self, database_url: str, world: SeedSummary) -> None:
        await clear_divergences(database_url)
        version = version_with("dev", "player-level")
        with install("player-level"):
            async with open_system(settings_for(database_url, code_version=version)) as system:
                await set_mode(system, "shadow", ("player",))
                try:
                    await system.router.get_player_by_id(world.player_ids[6])
                    await settle(system)
                    (group,) = await system.divergences.groups(domain="player", status="open")
                    (exemplar,) = await system.divergences.exemplars(group.signature)
                finally:
                    await set_mode(system, "legacy", ("player",))
        data = exemplar_data(group, exemplar)
        (row,) = data["captured"][0]["groups"][0]["rows"]
        assert row["player_id"] == str(world.player_ids[6])
        assert row == exemplar.primary_result["value"]

        bugged = await asyncio.to_thread(replay, data)  # a fresh database: only this row
        assert set(bugged.diff) == {"root['level']"}, bugged.diff
        fixed = await asyncio.to_thread(replay, {**data, "code_version": "dev"})
        assert fixed.agree, fixed.diff
