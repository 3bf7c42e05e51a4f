"""``dualpath run`` stops cleanly on SIGTERM and SIGINT, and leaves no database running.

It runs as a newcomer runs it: no DATABASE_URL, so on an embedded PostgreSQL under a data
dir of its own, with background traffic comparing player and room in shadow and health in
live. After a signal it must have drained or cancelled its shadows, written its queued
divergences, closed its pools and stopped the embedded server it started, with no asyncpg
complaint on the way ("Resetting connection with an active transaction"); a second run
reuses the same data. ``dualpath db stop`` stops a server left behind by a crash.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.service.served import free_port

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
TRAFFIC_S = 4.0  # background traffic before the signal, so that shadows are running
# Starts the embedded server as `dualpath run` does (stopped at exit), then waits to be killed.
CRASHING = """
import sys, time
from pathlib import Path
from app.database import start_embedded
start_embedded(Path(sys.argv[1]), stop_at_exit=True)
print("up", flush=True)
time.sleep(600)
"""
CLOSING = ("shadow.runner_stopped", "shadow.store_stopped", "system.closed")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A short data dir (the embedded server's socket path must stay short)."""
    with tempfile.TemporaryDirectory(prefix="dps", dir="/tmp") as tmp:
        yield Path(tmp)
        dualpath(Path(tmp), "db", "stop")  # whatever a failed test left running


def environment(data_dir: Path) -> dict[str, str]:
    """No DATABASE_URL: the embedded server under ``data_dir``; logs as JSON lines."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, "DUALPATH_DATA_DIR": str(data_dir), "DUALPATH_LOG_FORMAT": "json"}


def dualpath(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``dualpath *args`` to its end, over the embedded server of ``data_dir``."""
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=ROOT, env=environment(data_dir), capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip


def run_until(data_dir: Path, signum: int) -> tuple[int, str, str, int]:
    """``dualpath run`` until healthy, a little traffic, then ``signum``.

    Returns its exit status, stdout, stderr and the pid of the embedded server it used.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "run", "--players", "20",
         "--concurrency", "2", "--port", str(port)],
        cwd=ROOT, env=environment(data_dir), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_healthy(process, f"http://127.0.0.1:{port}")
        time.sleep(TRAFFIC_S)
        server_pid = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out, err, server_pid


def wait_healthy(process: subprocess.Popen[str], url: str, deadline_s: float = 180) -> None:
    """Until ``/healthz`` answers 200 (an embedded server's first start takes a while)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dualpath run exited early: {process.communicate()[1]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("dualpath run did not become healthy")


def events(stderr: str) -> list[dict[str, Any]]:
    """The JSON log lines of stderr (every line must be one)."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def running(pid: int) -> bool:
    """Whether a process with ``pid`` is alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def check_clean(code: int, stderr: str, server_pid: int) -> None:
    """Exit 0, every part closed in order, nothing complained, the embedded server gone."""
    assert code == 0, stderr[-3000:]
    assert "Resetting connection" not in stderr and "Traceback" not in stderr
    logged = events(stderr)
    names = [e["event"] for e in logged]
    assert [n for n in names if n in CLOSING] == list(CLOSING), names[-20:]
    assert all(e["level"] not in ("error", "critical") for e in logged), [
        e for e in logged if e["level"] in ("error", "critical")
    ]
    [stored] = [e for e in logged if e["event"] == "shadow.store_stopped"]
    assert stored["unwritten"] == 0
    deadline = time.monotonic() + 30
    while running(server_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running(server_pid), "the embedded PostgreSQL is still running"


@pytest.mark.slow  # two starts of an embedded server, each migrated, seeded and served
class TestRun:
    """SIGTERM and SIGINT stop ``dualpath run`` and its embedded server; the data stays."""

    def test_sigterm_then_sigint_reusing_the_data(self, data_dir: Path) -> None:
        code, out, err, first_server = run_until(data_dir, signal.SIGTERM)
        check_clean(code, err, first_server)
        assert "seeded world 42" in out
        code, out, err, second_server = run_until(data_dir, signal.SIGINT)
        check_clean(code, err, second_server)
        assert "seeded world" not in out  # the world of the first run was kept


class TestDbStop:
    """``dualpath db stop`` stops an embedded server left by a process that was killed."""

    def test_stops_a_leftover(self, data_dir: Path) -> None:
        crashed = subprocess.Popen(
            [sys.executable, "-c", CRASHING, str(data_dir / "pg")],
            cwd=ROOT, env=environment(data_dir), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert crashed.stdout is not None
        lines = iter(crashed.stdout.readline, "")  # structlog's defaults print there before
        assert any(line.strip() == "up" for line in lines)
        crashed.kill()  # no atexit, no clean-up: the server it started is left running
        crashed.wait(30)
        server_pid = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        assert running(server_pid)
        stopped = dualpath(data_dir, "db", "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert f"(pid {server_pid})" in stopped.stdout
        deadline = time.monotonic() + 30
        while running(server_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not running(server_pid)
        again = dualpath(data_dir, "db", "stop")
        assert again.returncode == 0 and "no embedded PostgreSQL runs" in again.stdout
