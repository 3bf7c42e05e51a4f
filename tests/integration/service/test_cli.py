"""``dualpath serve``, ``traffic`` and ``status`` from the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.integration.service.conftest import TOKEN

pytestmark = pytest.mark.integration


@pytest.fixture
def runner(service_database: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose environment points at the service test database."""
    monkeypatch.setenv("DATABASE_URL", service_database)
    monkeypatch.setenv("DUALPATH_FLAG_PROVIDER", "postgres")
    monkeypatch.setenv("DUALPATH_OPS_TOKEN", TOKEN)
    return CliRunner()


class TestHelp:
    """Every command explains itself with an example."""

    @pytest.mark.parametrize("command", ["serve", "traffic", "status"])
    def test_help_has_an_example(self, command: str) -> None:
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Example: " in result.output and f"dualpath {command}" in result.output

    def test_serve_help_explains_the_token(self) -> None:
        output = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200).output
        assert "DUALPATH_OPS_TOKEN" in output and "Bearer" in output


class TestTraffic:
    """A short run does every kind of action and reports what it did."""

    def test_short_run(self, runner: CliRunner) -> None:
        args = ["traffic", "--seconds", "1.5", "--concurrency", "3", "--service", "cli-test"]
        result = runner.invoke(app, args, terminal_width=200)
        assert result.exit_code == 0, result.output
        assert "operations: " in result.output and "errors: 0" in result.output
        for action in ("look", "move", "fight", "loot"):
            assert action in result.output
        assert "divergences recorded:" in result.output


class TestStatus:
    """One row per domain with its mode and a verdict."""

    def test_table(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["status"], terminal_width=200)
        assert result.exit_code == 0, result.output
        for domain in ("player", "room", "health", "container", "item"):
            assert domain in result.output
        assert "legacy" in result.output
