"""``dualpath serve``, ``traffic`` and ``status`` from the command line.

``traffic`` and ``status`` open a system of their own, so they run in a child process: a
system closing in this process would also clear the process-wide ``get_persistence()``
that the package's open system installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.integration.service.conftest import TOKEN

pytestmark = pytest.mark.integration


ROOT = Path(__file__).resolve().parents[3]


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``dualpath *args`` in a child process over the service test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DUALPATH_FLAG_PROVIDER": "postgres",
        "DUALPATH_OPS_TOKEN": TOKEN,
        "COLUMNS": "200",
    }
    code = "from app.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestHelp:
    """Every command explains itself with an example."""

    @pytest.mark.parametrize("command", ["serve", "traffic", "status"])
    def test_help_has_an_example(self, command: str) -> None:
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Example: " in result.stdout and f"dualpath {command}" in result.stdout

    def test_serve_help_explains_the_token(self) -> None:
        output = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200).output
        assert "DUALPATH_OPS_TOKEN" in output and "Bearer" in output


class TestTraffic:
    """A short run does every kind of action and reports what it did."""

    def test_short_run(self, service_database: str) -> None:
        args = ["traffic", "--seconds", "1.5", "--concurrency", "3", "--service", "cli-test"]
        result = run(service_database, *args)
        assert result.returncode == 0, result.stderr
        assert "operations: " in result.stdout and "errors: 0" in result.stdout
        for action in ("look", "move", "fight", "loot"):
            assert action in result.stdout
        assert "divergences recorded:" in result.stdout


class TestStatus:
    """One row per domain with its mode and a verdict."""

    def test_table(self, service_database: str) -> None:
        result = run(service_database, "status")
        assert result.returncode == 0, result.stderr
        for domain in ("player", "room", "health", "container", "item"):
            assert domain in result.stdout
        assert "legacy" in result.stdout
