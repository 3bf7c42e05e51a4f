"""dualpath's own tables install into an empty database without the MUD's game schema."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from alembic.script import ScriptDirectory

from persistence.migrate import alembic_config, current, upgrade
from tests.conftest import create_database, drop_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
#: dualpath's own tables: flags, audit, overrides, divergences, rollups, the guard's record.
DUALPATH_TABLES = {
    "flags", "flag_audit", "flag_overrides", "shadow_ignore_rules", "divergence_groups",
    "divergence_exemplars", "shadow_rollup_minute", "guard_calls", "guard_looks",
    "service_rollup_minute", "service_divergences",
}  # fmt: skip
#: The MUD's game schema (0001).
GAME_TABLES = {
    "users", "professions", "zones", "rooms", "room_exits", "players", "item_prototypes",
    "item_instances", "containers", "container_contents",
}  # fmt: skip


@pytest.fixture
def empty_database() -> Iterator[str]:
    url = create_database("dualpath_only")
    try:
        yield url
    finally:
        drop_database(url)


def tables(url: str) -> set[str]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def head() -> str:
    return str(ScriptDirectory.from_config(alembic_config("postgresql://x/y")).get_current_head())


class TestDualpathOnly:
    """``upgrade(dualpath_only=True)`` reaches the head with dualpath's tables alone."""

    def test_an_empty_database_gets_dualpath_tables_and_no_game_schema(
        self, empty_database: str
    ) -> None:
        upgrade(empty_database, dualpath_only=True)
        found = tables(empty_database)
        assert found >= DUALPATH_TABLES
        assert not found & GAME_TABLES
        assert current(empty_database) == head()

    def test_every_table_but_the_game_schema_is_installed(self, empty_database: str) -> None:
        """A migration added after these (a new dualpath table) lands in both installs."""
        full = create_database("dualpath_full")
        try:
            upgrade(full)
            upgrade(empty_database, dualpath_only=True)
            assert tables(full) - tables(empty_database) == GAME_TABLES
        finally:
            drop_database(full)

    def test_the_command_line_installs_dualpath_only(self, empty_database: str) -> None:
        env = {**os.environ, "DATABASE_URL": empty_database}
        done = subprocess.run(
            [sys.executable, "-c", "from app.cli import main; main()", "db", "upgrade",
             "--dualpath-only"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert DUALPATH_TABLES <= tables(empty_database)
        assert not tables(empty_database) & GAME_TABLES
