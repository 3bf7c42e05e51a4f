"""``dualpath flags list|set|history``: locally against the database, remotely with the token."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.integration.service.conftest import TOKEN
from tests.integration.unleash_server import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = "experience"


def run(
    database_url: str, *args: str, token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    """``dualpath *args`` in a child process over the guard test database."""
    env = {**os.environ, "DATABASE_URL": database_url, "DUALPATH_FLAG_PROVIDER": "postgres"}
    env["COLUMNS"] = "200"
    env.pop("DUALPATH_OPS_TOKEN", None)
    if token is not None:
        env["DUALPATH_OPS_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def reset(guard_database: str) -> Iterator[None]:
    """Put the test's domain back to legacy afterwards."""
    yield
    run(guard_database, "flags", "set", DOMAIN, "legacy", "--reason", "reset", "--actor", "t")


class TestHelp:
    """Each command explains itself with an example."""

    @pytest.mark.parametrize("command", ["list", "set", "history"])
    def test_help_has_an_example(self, command: str) -> None:
        result = CliRunner().invoke(app, ["flags", command, "--help"], terminal_width=200)
        assert result.exit_code == 0
        assert f"Example: dualpath flags {command}" in result.output


@pytest.mark.usefixtures("reset")
class TestLocal:
    """Local commands write to the database with the actor, enforce steps, refuse bad input."""

    def test_set_list_history(self, guard_database: str) -> None:
        changed = ok_json(
            run(guard_database, "flags", "set", DOMAIN, "shadow", "--percent", "20",
                "--services", "api,worker", "--reason", "canary", "--actor", "alice", "--json")
        )  # fmt: skip
        assert (changed[0]["mode"], changed[0]["percent"]) == ("shadow", 20)
        assert changed[0]["services"] == ["api", "worker"]
        listed = {f["domain"]: f for f in ok_json(run(guard_database, "flags", "list", "--json"))}
        assert listed[DOMAIN]["updated_by"] == "alice"
        latest = ok_json(run(guard_database, "flags", "history", DOMAIN, "--json"))[0]
        assert (latest["actor"], latest["reason"], latest["forced"]) == ("alice", "canary", False)
        table = run(guard_database, "flags", "history", DOMAIN, "--limit", "1")
        assert table.returncode == 0 and "canary" in table.stdout

    def test_actor_defaults_to_the_os_user(self, guard_database: str) -> None:
        ok_json(run(guard_database, "flags", "set", DOMAIN, "shadow", "--reason", "r", "--json"))
        latest = ok_json(run(guard_database, "flags", "history", DOMAIN, "--json"))[0]
        assert latest["actor"] == getpass.getuser()

    def test_jump_needs_force(self, guard_database: str) -> None:
        refused = run(guard_database, "flags", "set", DOMAIN, "async", "--reason", "r")
        assert refused.returncode == 2 and "skips a step" in refused.stderr
        ok_json(run(guard_database, "flags", "set", DOMAIN, "async", "--reason", "r",
                    "--force", "--json"))  # fmt: skip
        latest = ok_json(run(guard_database, "flags", "history", DOMAIN, "--json"))[0]
        assert (latest["mode"], latest["forced"]) == ("async", True)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["nowhere", "shadow", "--reason", "r"], "unknown domain"),
            ([DOMAIN, "sideways", "--reason", "r"], "unknown mode"),
            ([DOMAIN, "shadow", "--reason", "r", "--percent", "101"], "--percent"),
            ([DOMAIN, "shadow"], "--reason"),
            ([DOMAIN, "shadow", "--reason", "  "], "reason"),
            ([DOMAIN, "shadow", "--reason", "r", "--services", "a,,b"], "--services"),
        ],
    )
    def test_bad_input_exits_2(self, guard_database: str, args: list[str], message: str) -> None:
        result = run(guard_database, "flags", "set", *args)
        assert result.returncode == 2, result.stdout
        assert message in result.stderr

    def test_bad_mode_changes_nothing(self, guard_database: str) -> None:
        history = ("flags", "history", "--limit", "1000", "--json")
        before = ok_json(run(guard_database, *history))
        result = run(guard_database, "flags", "set", DOMAIN, "sideways", "--reason", "r")
        assert result.returncode == 2 and "unknown mode 'sideways'" in result.stderr
        assert ok_json(run(guard_database, *history)) == before

    def test_history_of_unknown_domain_exits_2(self, guard_database: str) -> None:
        result = run(guard_database, "flags", "history", "nowhere")
        assert result.returncode == 2 and "unknown domain" in result.stderr


@pytest.fixture(scope="module")
def served(guard_database: str) -> Iterator[str]:
    """``dualpath serve`` in a child process over the guard test database; its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": guard_database, "DUALPATH_OPS_TOKEN": TOKEN}
    child = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("dualpath serve did not start")
        yield url
    finally:
        child.terminate()
        child.wait(10)


@pytest.mark.usefixtures("reset")
class TestRemote:
    """With --url every call carries the ops token; without a valid one nothing changes."""

    def test_set_and_read_through_the_service(self, guard_database: str, served: str) -> None:
        changed = ok_json(run(guard_database, "flags", "set", DOMAIN, "shadow", "--reason",
                              "remote canary", "--url", served, "--json"))  # fmt: skip
        assert changed[0]["mode"] == "shadow"
        latest = ok_json(run(guard_database, "flags", "history", DOMAIN, "--url", served,
                             "--json"))[0]  # fmt: skip
        assert (latest["actor"], latest["reason"]) == ("ops", "remote canary")
        listed = ok_json(run(guard_database, "flags", "list", "--url", served, "--json"))
        assert {f["domain"]: f["mode"] for f in listed}[DOMAIN] == "shadow"

    @pytest.mark.parametrize(("token", "message"), [(None, "DUALPATH_OPS_TOKEN"), ("wrong", "403")])
    def test_without_a_valid_token_nothing_changes(
        self, guard_database: str, served: str, token: str | None, message: str
    ) -> None:
        for command in (["list"], ["history"], ["set", DOMAIN, "shadow", "--reason", "r"]):
            result = run(guard_database, "flags", *command, "--url", served, token=token)
            if token is None or command[0] == "set":
                assert result.returncode == 2, (command, result.stdout)
                assert message in result.stderr
        assert httpx.get(f"{served}/api/flags/{DOMAIN}").json()["mode"] == "legacy"

    def test_actor_is_refused_remotely(self, guard_database: str, served: str) -> None:
        result = run(guard_database, "flags", "set", DOMAIN, "shadow", "--reason", "r",
                     "--actor", "mallory", "--url", served)  # fmt: skip
        assert result.returncode == 2 and "--actor" in result.stderr

    def test_bad_mode_is_refused_before_the_service_is_called(self, guard_database: str) -> None:
        nobody = f"http://127.0.0.1:{free_port()}"  # reaching it would exit 1
        result = run(guard_database, "flags", "set", DOMAIN, "sideways", "--reason", "r",
                     "--url", nobody)  # fmt: skip
        assert result.returncode == 2 and "unknown mode 'sideways'" in result.stderr

    def test_unreachable_service_exits_1(self, guard_database: str) -> None:
        result = run(guard_database, "flags", "list", "--url", f"http://127.0.0.1:{free_port()}")
        assert result.returncode == 1 and "could not be reached" in result.stderr


class TestStatusShowsReadiness:
    """``dualpath status`` has a readiness column with each domain's verdict."""

    def test_status(self, guard_database: str) -> None:
        result = run(guard_database, "status")
        assert result.returncode == 0, result.stderr
        assert "readiness" in result.stdout and "ready for shadow" in result.stdout


class TestStatusMasksThePassword:
    """``dualpath status`` names its database with the password masked, and so do errors."""

    def test_database_line(self, guard_database: str) -> None:
        secret = "status-db-secret"
        url = guard_database.replace("postgres@", f"postgres:{secret}@", 1)
        result = run(url, "status")
        assert result.returncode == 0, result.stderr
        assert "database: postgresql://postgres:***@127.0.0.1" in result.stdout
        assert secret not in result.stdout + result.stderr

    def test_bad_url_error_is_masked(self, guard_database: str) -> None:
        result = run("mysql://root:bad-url-secret@127.0.0.1/game", "status")
        assert result.returncode == 2
        assert "DATABASE_URL must be a postgresql:// URL" in result.stderr
        assert "bad-url-secret" not in result.stdout + result.stderr
