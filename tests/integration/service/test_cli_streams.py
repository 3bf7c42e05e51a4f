"""Every command keeps stdout for its answer and logs to stderr; ``--json`` pipes into ``jq``.

Each command with ``--json`` runs in a child process over the service test database, its
logs as JSON lines (``DUALPATH_LOG_FORMAT=json``): stdout must parse as one JSON document,
and every stderr line must be a log object with structlog's standard fields.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import typer

from app.cli import app
from tests.integration.service.conftest import TOKEN
from tests.integration.service.injection import attach_shadow, diverge

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SIGNATURE = "<signature>"
# The arguments each --json command runs with; a new --json command must be added here.
JSON_COMMANDS: dict[str, list[str]] = {
    "status": ["status"],
    "services": ["services"],
    "traffic": ["traffic", "--seconds", "0.5", "--concurrency", "1", "--service", "streams"],
    "flags list": ["flags", "list"],
    "flags set": ["flags", "set", "profession", "legacy", "--reason", "streams test"],
    "flags history": ["flags", "history", "--limit", "3"],
    "divergences list": ["divergences", "list"],
    "divergences show": ["divergences", "show", SIGNATURE],
    "divergences ignore": ["divergences", "ignore", SIGNATURE, "--reason", "streams test"],
    "divergences reopen": ["divergences", "reopen", SIGNATURE],
    "divergences fixed": ["divergences", "fixed", SIGNATURE, "--reason", "streams test"],
    "divergences noise": ["divergences", "noise"],
    "guard replay": ["guard", "replay", "--domain", "player"],
}
#: Commands whose --json needs a state this module does not make, and where it is parsed.
JSON_ELSEWHERE = {
    "divergences accept-noise": "tests/integration/shadow_runner/test_calibration.py",
}
LOG_FIELDS = {"timestamp", "level", "event", "logger"}


def dualpath(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``dualpath *args`` in a child process, with ``env`` added to the service's."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DUALPATH_LOG_")}
    environment = {
        **inherited,
        "DATABASE_URL": database_url,
        "DUALPATH_FLAG_PROVIDER": "postgres",
        "DUALPATH_OPS_TOKEN": TOKEN,
        "COLUMNS": "200",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def json_commands() -> set[str]:
    """Every command of the command line that has a --json option."""
    found: set[str] = set()

    def walk(command: Any, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        if not hasattr(command, "commands"):
            options = {opt for param in command.params for opt in getattr(param, "opts", [])}
            if "--json" in options:
                found.add(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def signature(system: Any, client: httpx.AsyncClient) -> str:
    """The signature of a stored divergence group (once: an ignored one would change it)."""
    [player] = (await client.get("/api/players", params={"limit": 1, "offset": 5})).json()
    attach_shadow(system)
    result = diverge(system, player["player_id"], 70, 65)
    await system.divergences.flush()
    found: str = system.shadow.engine.divergence(result, {}).signature
    return found


def log_lines(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line as a JSON log object (fails on any other line)."""
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    for line in lines:
        assert LOG_FIELDS <= line.keys(), line
    return lines


class TestJsonOutput:
    """stdout is the answer alone, whatever is logged meanwhile."""

    def test_every_json_command_is_listed(self) -> None:
        assert json_commands() == set(JSON_COMMANDS) | set(JSON_ELSEWHERE)

    @pytest.mark.parametrize("command", sorted(JSON_COMMANDS))
    def test_stdout_parses(self, service_database: str, signature: str, command: str) -> None:
        args = [signature if a == SIGNATURE else a for a in JSON_COMMANDS[command]]
        result = dualpath(service_database, *args, "--json", DUALPATH_LOG_FORMAT="json")
        assert result.returncode == 0, result.stderr
        json.loads(result.stdout)
        log_lines(result.stderr)

    def test_jq_reads_it(self, service_database: str) -> None:
        jq = shutil.which("jq")
        if jq is None:
            pytest.fail("jq is not installed (Debian: apt-get install -y jq)")
        result = dualpath(service_database, "status", "--json")
        assert result.returncode == 0, result.stderr
        domains = subprocess.run(
            [jq, "-r", ".[].domain"], input=result.stdout, capture_output=True, text=True,
            check=True, timeout=30,
        ).stdout.split()  # fmt: skip
        assert {"player", "room", "health"} <= set(domains)


class TestLogSettings:
    """DUALPATH_LOG_FORMAT and DUALPATH_LOG_LEVEL, with structlog's renderers."""

    def test_json_lines_have_the_standard_fields(self, service_database: str) -> None:
        result = dualpath(service_database, "flags", "list", DUALPATH_LOG_FORMAT="json")
        assert result.returncode == 0, result.stderr
        events = [line["event"] for line in log_lines(result.stderr)]
        assert events, "flags list logged nothing to stderr"
        assert not any(event in result.stdout for event in events)

    def test_console_lines(self, service_database: str) -> None:
        result = dualpath(service_database, "flags", "list", DUALPATH_LOG_FORMAT="console")
        assert result.returncode == 0, result.stderr
        assert "[info     ]" in result.stderr and "[info" not in result.stdout

    def test_not_a_terminal_means_json(self, service_database: str) -> None:
        result = dualpath(service_database, "flags", "list")  # stderr is a pipe here
        assert result.returncode == 0, result.stderr
        assert log_lines(result.stderr)

    def test_level_drops_what_is_below(self, service_database: str) -> None:
        result = dualpath(
            service_database, "flags", "list", DUALPATH_LOG_FORMAT="json",
            DUALPATH_LOG_LEVEL="warning",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert all(line["level"] != "info" for line in log_lines(result.stderr))

    @pytest.mark.parametrize(
        ("variable", "value"), [("DUALPATH_LOG_FORMAT", "xml"), ("DUALPATH_LOG_LEVEL", "loud")]
    )
    def test_bad_setting_refused(self, service_database: str, variable: str, value: str) -> None:
        result = dualpath(service_database, "flags", "list", **{variable: value})
        assert result.returncode == 2 and variable in result.stderr and result.stdout == ""
