"""``dualpath`` on the command line, for the guild's system (``DUALPATH_DECLARATIONS``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GUILD = "examples.guild.declarations:GUILD"


def dualpath(url: str, *args: str, declarations: str = GUILD) -> subprocess.CompletedProcess[str]:
    """``dualpath *args`` in a child process over the guild's database."""
    env = {**os.environ, "DATABASE_URL": url, "DUALPATH_FLAG_PROVIDER": "postgres"}
    env["DUALPATH_DECLARATIONS"] = declarations
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


class TestGuildCli:
    """The CLI takes its domains from the configured declaration."""

    def test_flags_set_list_and_divergences_take_the_guild_domain(
        self, guild_database: str, guilds: list[str]
    ) -> None:
        changed = dualpath(guild_database, "flags", "set", "guild", "shadow", "--reason", "try")
        assert changed.returncode == 0, changed.stderr
        listed = dualpath(guild_database, "flags", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        modes = {f["domain"]: f["mode"] for f in json.loads(listed.stdout)}
        assert modes == {"guild": "shadow"}
        found = dualpath(guild_database, "divergences", "list", "--domain", "guild", "--json")
        assert found.returncode == 0, found.stderr

    def test_a_domain_the_declaration_does_not_have_is_refused(
        self, guild_database: str, guilds: list[str]
    ) -> None:
        refused = dualpath(guild_database, "flags", "set", "player", "shadow", "--reason", "x")
        assert refused.returncode == 2
        assert "player" in refused.stderr and "guild" in refused.stderr

    def test_a_declarations_setting_that_names_nothing_is_a_clear_error(
        self, guild_database: str
    ) -> None:
        bad = dualpath(guild_database, "flags", "list", declarations="examples.guild.schema:SCHEMA")
        assert bad.returncode == 2
        assert "does not name a routing.declarations.Declarations" in bad.stderr
        assert "Traceback" not in bad.stderr and "╭" not in bad.stderr

    def test_a_whole_system_for_another_declaration_is_refused_with_a_message(
        self, guild_database: str
    ) -> None:
        refused = dualpath(guild_database, "status")
        assert refused.returncode == 2
        assert "needs legacy= and async_layer=" in refused.stderr
        assert "Traceback" not in refused.stderr
