"""A reproduction of a real bug: it fails against the code with the bug, passes against the fix.

The project is copied to a temporary directory and one line of an async repository is changed
there (damage takes one HP too many). A process of the copy drives a shadowed call until the
divergence is recorded, and ``dualpath divergences repro`` writes the reproduction. Run with
pytest, it fails against the changed copy and passes against the unchanged project; it leaves
no row behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest

from app.bootstrap import System
from persistence.seed import SeedSummary

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
REPOSITORY = Path("persistence/repositories/health_repository.py")
CORRECT = "player.player_id, -amount, damage_type"
BUG = "player.player_id, -amount - 1, damage_type"
SKIPPED = shutil.ignore_patterns(
    ".venv", ".git", "node_modules", ".dualpath", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", "docs", "dashboards",
)  # fmt: skip

DRIVE = """
import asyncio, sys
from app.bootstrap import open_system
from app.settings import Settings

async def main():
    settings = Settings(flag_provider="postgres", guard_enabled=False, calibration_percent=0)
    async with open_system(settings) as system:
        await system.flags.set("health", "shadow", reason="repro test", actor="test")
        player = await system.router.get_player_by_id(sys.argv[1])
        for _ in range(50):
            await system.router.damage_player(player, 3, "combat")
            await system.shadow_runner.drain()
            await system.divergences.flush()
            groups = await system.divergences.groups(domain="health", status="open")
            if groups:
                print("signature:", groups[0].signature)  # logs may follow on stdout
                return
        raise SystemExit("no divergence was recorded")

asyncio.run(main())
"""


def _copy_with_bug(into: Path) -> Path:
    copy = into / "project"
    shutil.copytree(ROOT, copy, ignore=SKIPPED)
    source = (copy / REPOSITORY).read_text()
    assert source.count(CORRECT) == 1
    (copy / REPOSITORY).write_text(source.replace(CORRECT, BUG))
    return copy


def _run(args: list[str], where: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where), "DATABASE_URL": url}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        args, cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False
    )


async def _players_rows(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM players"))
    finally:
        await conn.close()


class TestReproductionOfARealBug:
    """The reproduction fails while the bug is in the code and passes once it is not."""

    async def test_fails_with_the_bug_and_passes_without_it(
        self, system: System, world: SeedSummary, tmp_path: Path
    ) -> None:
        url = system.database_url
        copy = _copy_with_bug(tmp_path)
        player = str(world.player_ids[3])
        driven = _run([sys.executable, "-c", DRIVE, player], copy, url)
        assert driven.returncode == 0, driven.stderr[-3000:]
        [signature] = [
            line.split(": ", 1)[1] for line in driven.stdout.splitlines()
            if line.startswith("signature: ")
        ]  # fmt: skip

        target = tmp_path / "repro_damage.py"
        cli = "from app.cli import main; main()"
        wrote = _run(
            [sys.executable, "-c", cli, "divergences", "repro", signature, "-o", str(target)],
            copy, url,
        )  # fmt: skip
        assert wrote.returncode == 0, wrote.stderr[-3000:]
        text = target.read_text()
        assert "damage_player" in text and '"captured"' in text
        rows_before = await _players_rows(url)

        pytest_args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target)]
        against_bug = _run(pytest_args, copy, url)
        assert against_bug.returncode == 1, against_bug.stdout[-3000:]
        assert "the paths disagree" in against_bug.stdout
        against_fix = _run(pytest_args, ROOT, url)
        assert against_fix.returncode == 0, against_fix.stdout[-3000:]
        assert await _players_rows(url) == rows_before


class TestReproductionCommand:
    """Bad input changes nothing and says what is wrong."""

    def test_unknown_exemplar_number(self, tmp_path: Path) -> None:
        cli = "from app.cli import main; main()"
        done = subprocess.run(
            [sys.executable, "-c", cli, "divergences", "repro", "zz", "-o", str(tmp_path / "x.py")],
            capture_output=True, text=True, cwd=ROOT, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2
        assert "32 lowercase hex digits" in done.stderr
        assert not (tmp_path / "x.py").exists()


def test_template_is_valid_python() -> None:
    from app.repro import reproduction

    data = {
        "signature": "a" * 32, "domain": "health", "operation": "damage_player",
        "kind": "result_mismatch", "diff_paths": ["root"], "mode": "shadow",
        "primary_path": "legacy", "code_version": "dev", "inputs": {"args": [], "kwargs": {}},
        "captured": None, "primary_result": {"note": 'has """ quotes'}, "shadow_result": None,
        "diff": {},
    }  # fmt: skip
    compile(reproduction(data, "r.py"), "r.py", "exec")
    assert textwrap.dedent(reproduction(data, "r.py")).count("def test_") == 1


class TestReproductionBesideMakeRunAlone:
    """With no DATABASE_URL and no test PostgreSQL, the file starts an embedded one of its own.

    A newcomer's ``make run`` has its embedded PostgreSQL and nothing on 127.0.0.1:5432; the
    reproduction then chooses its server as the test suite does and falls back to an embedded
    one in a temporary directory, inserts its rows there, and removes it after.
    """

    def test_a_room_read_fails_on_an_embedded_server(self, tmp_path: Path) -> None:
        import glob
        import tempfile
        from datetime import UTC, datetime

        from app.repro import exemplar_data, write_reproduction
        from shadow.records import DivergenceGroup, Exemplar

        now = datetime.now(UTC)
        room = {"room_id": "hall", "zone_id": "house", "name": "Hall", "description": "",
                "environment": "indoors", "exits": {"north": "yard"}}  # fmt: skip
        group = DivergenceGroup(
            "a" * 32, "room", "get_room_by_id", "result_mismatch", ("root['name']",), 1,
            "open", now, now,
        )  # fmt: skip
        exemplar = Exemplar(
            1, "a" * 32, {"args": ["hall"], "kwargs": {}}, "legacy",
            {"path": "legacy", "value": room, "error": None},
            {"path": "async", "value": {**room, "name": "HALL"}, "error": None},
            {"root['name']": {"primary": "Hall", "shadow": "HALL"}}, "", "shadow", 1.0, 1.0,
            "dev+demo-bug.room-name-upper", now,
        )  # fmt: skip
        target = write_reproduction(exemplar_data(group, exemplar), tmp_path / "repro_room.py")
        servers = os.path.join(tempfile.gettempdir(), "dpt*")  # tests.database's prefix
        before = set(glob.glob(servers))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PGHOST": "/nonexistent",
               "DUALPATH_TEST_ADMIN_URL": "postgresql://postgres@127.0.0.1:1/postgres",
               "DUALPATH_TEST_EMBEDDED_FALLBACK": "1"}  # fmt: skip
        env.pop("DATABASE_URL", None)
        env.pop("PYTEST_ADDOPTS", None)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stdout[-3000:]
        assert "the paths disagree" in done.stdout and '"shadow": "HALL"' in done.stdout
        assert set(glob.glob(servers)) <= before  # its server's directory is gone
