"""Reproductions of reads: they insert the rows the primary's read returned, on a fresh database.

The project is copied to a temporary directory and two lines of async repositories are
changed there: players in a list come in descending name order, and a container's items in
descending slot order. A process of the copy shadows a read (a list of players, a container
with its contents) until the divergence is recorded, and ``dualpath divergences repro`` writes
its reproduction. Run with pytest and no DATABASE_URL, each file makes a fresh database on
the test PostgreSQL, inserts the rows the legacy read returned and replays the read: it fails
against the changed copy and passes against the unchanged project. On a database without
those rows both paths would read nothing and agree, so the failure shows the rows were
inserted. Nothing is left behind: no database, no row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from app.bootstrap import System
from persistence.seed import SeedSummary
from tests.database import admin_url

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
BUGS = {
    Path("persistence/repositories/player_repository.py"): (
        '_ORDER = "ORDER BY lower(name), player_id"',
        '_ORDER = "ORDER BY lower(name) DESC, player_id"',
    ),
    Path("persistence/repositories/container_repository.py"): (
        "array_agg(cc.item_instance_id ORDER BY cc.position)",
        "array_agg(cc.item_instance_id ORDER BY cc.position DESC)",
    ),
}
SKIPPED = shutil.ignore_patterns(
    ".venv", ".git", "node_modules", ".dualpath", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", "docs", "dashboards",
)  # fmt: skip

DRIVE = """
import asyncio, json, sys
from app.bootstrap import open_system
from app.settings import Settings

async def main(domain, operation, args):
    settings = Settings(flag_provider="postgres", guard_enabled=False, calibration_percent=0)
    async with open_system(settings) as system:
        await system.flags.set(domain, "shadow", reason="repro test", actor="test")
        try:
            for _ in range(50):
                await getattr(system.router, operation)(*args)
                await system.shadow_runner.drain()
                await system.divergences.flush()
                groups = await system.divergences.groups(domain=domain, status="open")
                if groups:
                    print("signature:", groups[0].signature)  # logs may follow on stdout
                    return
        finally:
            await system.flags.set(domain, "legacy", reason="repro test", actor="test")
        raise SystemExit("no divergence was recorded")

asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
"""
CLI = "from app.cli import main; main()"


@pytest.fixture(scope="module")
def bugged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the project with both bugs in its async repositories."""
    copy = tmp_path_factory.mktemp("bugged") / "project"
    shutil.copytree(ROOT, copy, ignore=SKIPPED)
    for path, (correct, bug) in BUGS.items():
        source = (copy / path).read_text()
        assert source.count(correct) == 1, path
        (copy / path).write_text(source.replace(correct, bug))
    yield copy
    shutil.rmtree(copy, ignore_errors=True)


def _run(
    args: list[str], where: Path, env: dict[str, str | None]
) -> subprocess.CompletedProcess[str]:
    """``args`` in ``where``, with ``env`` over this environment (``None`` unsets)."""
    merged = {**os.environ, "PYTHONPATH": str(where), **env}
    merged.pop("PYTEST_ADDOPTS", None)
    env = {k: v for k, v in merged.items() if v is not None}
    return subprocess.run(
        args, cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _fresh() -> dict[str, str | None]:
    """No DATABASE_URL: the reproduction makes (and drops) a database of its own."""
    return {"DATABASE_URL": None, "DUALPATH_TEST_ADMIN_URL": admin_url()}


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _state(url: str) -> tuple[int, int, int, int]:
    """Rows of the tables a replay touches, and the reproductions' databases on the server."""
    [row] = await _fetch(
        url,
        "SELECT (SELECT count(*) FROM players), (SELECT count(*) FROM containers),"
        " (SELECT count(*) FROM container_contents),"
        " (SELECT count(*) FROM pg_database WHERE datname LIKE 'dualpath_repro_%')",
    )
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def _reproduce(url: str, copy: Path, tmp: Path, call: tuple[str, str, list[str]]) -> str:
    """Shadow ``call`` in the bugged copy until it diverges; check its reproduction both ways."""
    driven = _run([sys.executable, "-c", DRIVE, call[0], call[1], json.dumps(call[2])], copy,
                  {"DATABASE_URL": url})  # fmt: skip
    assert driven.returncode == 0, driven.stderr[-3000:]
    [signature] = [
        line.split(": ", 1)[1] for line in driven.stdout.splitlines()
        if line.startswith("signature: ")
    ]  # fmt: skip
    target = tmp / f"repro_{call[1]}.py"
    wrote = _run([sys.executable, "-c", CLI, "divergences", "repro", signature, "-o", str(target)],
                 copy, {"DATABASE_URL": url})  # fmt: skip
    assert wrote.returncode == 0, wrote.stderr[-3000:]
    assert f"captured: the rows {call[1]} returned on the primary" in wrote.stdout

    before = await _state(url)
    pytest_args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target)]
    against_bug = _run(pytest_args, copy, _fresh())
    assert against_bug.returncode == 1, against_bug.stdout[-3000:]
    assert "the paths disagree" in against_bug.stdout
    against_fix = _run(pytest_args, ROOT, _fresh())
    assert against_fix.returncode == 0, against_fix.stdout[-3000:]
    assert await _state(url) == before
    return target.read_text()


class TestReproductionOfReads:
    """A read's reproduction fails with the bug and passes without it, on its own rows."""

    async def test_a_list_of_players(
        self, system: System, world: SeedSummary, bugged: Path, tmp_path: Path
    ) -> None:
        url = system.database_url
        [room] = await _fetch(
            url,
            "SELECT current_room_id, count(*) FROM players GROUP BY 1"
            " HAVING count(*) >= 2 ORDER BY 2 DESC, 1 LIMIT 1",
        )
        text = await _reproduce(url, bugged, tmp_path, ("player", "get_players_in_room", [room[0]]))
        assert f"get_players_in_room returned on the primary: {room[1]} players." in text

    async def test_a_container_with_its_contents(
        self, system: System, world: SeedSummary, bugged: Path, tmp_path: Path
    ) -> None:
        url = system.database_url
        [found] = await _fetch(
            url,
            "SELECT container_id::text, count(*) FROM container_contents GROUP BY 1"
            " HAVING count(*) >= 2 ORDER BY 2 DESC, 1 LIMIT 1",
        )
        text = await _reproduce(url, bugged, tmp_path, ("container", "get_container", [found[0]]))
        assert f"1 containers, {found[1]} container_contents" in text


class TestRowsThatAreNotTheState:
    """A read the captured rows cannot replay fails, saying so, instead of passing."""

    async def test_a_list_past_an_offset(self, world: SeedSummary) -> None:
        import asyncio
        from datetime import UTC, datetime

        from app.repro import exemplar_data, replay
        from shadow.records import DivergenceGroup, Exemplar

        player = {
            "player_id": str(world.player_ids[0]), "user_id": str(world.player_ids[1]),
            "name": "Ann", "current_room_id": "hall", "profession_id": 0,
            "stats": {"current_health": 90, "max_health": 100, "strength": 50, "dexterity": 50,
                      "constitution": 50, "intelligence": 50, "wisdom": 50, "charisma": 50,
                      "sanity": 100, "fear": 0, "corruption": 0, "occult_knowledge": 0,
                      "position": "standing"},
            "inventory": [], "equipped": {}, "experience_points": 0, "level": 2,
            "is_admin": False, "created_at": "2026-01-01T00:00:00+00:00",
            "last_active": "2026-01-01T00:00:00+00:00",
        }  # fmt: skip
        now = datetime.now(UTC)
        group = DivergenceGroup(
            "b" * 32, "player", "list_players", "result_mismatch", ("root[0]['level']",), 1,
            "open", now, now,
        )  # fmt: skip

        def exemplar(offset: int) -> Exemplar:
            return Exemplar(
                1, "b" * 32, {"args": [1, offset], "kwargs": {}}, "legacy",
                {"path": "legacy", "value": [player], "error": None},
                {"path": "async", "value": [{**player, "level": 3}], "error": None},
                {}, "", "shadow", 1.0, 1.0, "dev", now,
            )  # fmt: skip

        on_its_rows = await asyncio.to_thread(replay, exemplar_data(group, exemplar(0)))
        assert on_its_rows.agree, on_its_rows.diff  # the fix: both return the inserted row
        past = await asyncio.to_thread(replay, exemplar_data(group, exemplar(1)))
        assert not past.agree and set(past.diff) == {"not reproduced"}
        assert past.diff["not reproduced"]["replayed"] == []
        with pytest.raises(AssertionError, match="not on what the read returned"):
            past.assert_agree()
