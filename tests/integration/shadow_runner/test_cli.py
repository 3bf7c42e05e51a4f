"""``dualpath divergences ...`` in a child process, over a store with one real divergence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.bootstrap import System
from app.cli import app
from persistence.seed import SeedSummary
from tests.integration.shadow_runner.conftest import set_mode
from tests.integration.shadow_runner.test_kinds import more_health

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
COMMANDS = ["list", "show", "ignore", "reopen", "fixed"]


def dualpath(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``dualpath *args`` in a child process over ``database_url``."""
    env = {**os.environ, "DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def answer(database_url: str, *args: str) -> Any:
    result = dualpath(database_url, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
async def signature(system: System, world: SeedSummary, divergent_router: Any) -> str:
    """The signature of one stored result_mismatch group."""
    router = divergent_router(get_player_by_id=more_health)
    await set_mode(system, "shadow", ("player",))
    await router.get_player_by_id(world.player_ids[0])
    await router.runner.drain()
    await system.divergences.flush()
    [group] = await system.divergences.groups()
    return group.signature


class TestHelp:
    """Every command explains itself with an example."""

    @pytest.mark.parametrize("command", COMMANDS)
    def test_example(self, command: str) -> None:
        result = CliRunner().invoke(app, ["divergences", command, "--help"], terminal_width=200)
        assert result.exit_code == 0
        assert f"Example: dualpath divergences {command}" in result.output


class TestTriage:
    """List, show, ignore, reopen and fix one group, as an operator would."""

    async def test_round_trip(self, database_url: str, signature: str) -> None:
        [listed] = answer(database_url, "divergences", "list", "--kind", "result_mismatch")
        assert listed["signature"] == signature and listed["status"] == "open"
        shown = answer(database_url, "divergences", "show", signature)
        assert shown["exemplars"][0]["primary_path"] == "legacy"
        assert "root['stats']['current_health']" in shown["exemplars"][0]["diff"]

        ignored = answer(
            database_url, "divergences", "ignore", signature,
            "--reason", "known", "--for", "2h", "--actor", "oncall",
        )  # fmt: skip
        assert (ignored["status"], ignored["status_by"]) == ("ignored", "oncall")
        assert answer(database_url, "divergences", "list", "--status", "open") == []
        reopened = answer(database_url, "divergences", "reopen", signature, "--actor", "oncall")
        assert reopened["status"] == "open"
        fixed = answer(database_url, "divergences", "fixed", signature, "--reason", "v2")
        assert fixed["status"] == "fixed" and fixed["status_reason"] == "v2"

    async def test_text_output(self, database_url: str, signature: str) -> None:
        result = dualpath(database_url, "divergences", "list")
        assert result.returncode == 0, result.stderr
        assert signature in result.stdout and "player.get_player_by_id" in result.stdout


def never_exists(original: Any) -> Any:
    async def item_instance_exists(item_instance_id: str) -> bool:
        await original(item_instance_id)
        return False

    return item_instance_exists


class TestReproductionSaysWhatItCaptured:
    """``repro`` says what the file inserts, and warns when a read's rows cannot be captured."""

    async def test_captured_rows(self, database_url: str, signature: str, tmp_path: Path) -> None:
        target = tmp_path / "repro.py"
        done = dualpath(database_url, "divergences", "repro", signature, "-o", str(target))
        assert done.returncode == 0, done.stderr
        assert "captured: the rows get_player_by_id returned on the primary: 1 players" in (
            done.stdout
        )
        assert "warning" not in done.stderr

    async def test_a_read_whose_result_is_not_rows(
        self, system: System, world: SeedSummary, divergent_router: Any, tmp_path: Path
    ) -> None:
        import asyncpg

        conn = await asyncpg.connect(system.database_url)
        try:
            item = await conn.fetchval("SELECT item_instance_id FROM item_instances LIMIT 1")
        finally:
            await conn.close()
        router = divergent_router(item_instance_exists=never_exists)
        await set_mode(system, "shadow", ("item",))
        assert await router.item_instance_exists(item) is True
        await router.runner.drain()
        await system.divergences.flush()
        [group] = await system.divergences.groups(domain="item")
        target = tmp_path / "repro.py"
        done = dualpath(system.database_url, "divergences", "repro", group.signature,
                        "-o", str(target))  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "warning: captured: item_instance_exists returned True, not rows" in done.stderr
        assert "set DATABASE_URL to a database that holds them" in done.stderr
        assert "Captured: item_instance_exists returned True, not rows" in target.read_text()


class TestBadInput:
    """Bad input exits 2 with a message that says what was wrong."""

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["list", "--status", "closed"], "--status must be one of"),
            (["list", "--kind", "oops"], "--kind must be one of"),
            (["list", "--domain", "spells"], "--domain must be one of"),
            (["show", "not-a-signature"], "32 lowercase hex digits"),
            (["show", "0" * 32], "no divergence group"),
            (["reopen", "0" * 32], "no divergence group"),
            (["ignore", "0" * 32, "--reason", " "], "--reason must say why"),
            (["ignore", "0" * 32, "--reason", "x", "--for", "soon"], "--for must be"),
            (["ignore", "0" * 32, "--reason", "x", "--expires", "2001-01-01"], "in the past"),
            (["ignore", "0" * 32, "--reason", "x", "--expires", "tomorrow"], "ISO 8601"),
            (
                ["ignore", "0" * 32, "--reason", "x", "--for", "2h", "--expires", "2999-01-01"],
                "not both",
            ),
        ],
    )
    def test_exit_2(self, database_url: str, args: list[str], message: str) -> None:
        result = dualpath(database_url, "divergences", *args)
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert message in result.stderr
