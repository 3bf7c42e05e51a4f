"""The whole loop, as a newcomer runs it: ``dualpath run --demo-bug NAME``, then the repro.

For each bug ``dualpath run --help`` lists, a real ``dualpath run`` process (its own fresh
database, a small world, background traffic) is started, and from its start the test polls
the real HTTP API until it sees what the newcomer is promised: the divergence group, its
side-by-side diff served on its dashboard page, and readiness blocked with the group named.
``LOOP_S`` bounds that from the process's start: the issue's minute. Then ``dualpath
divergences repro`` writes the reproduction, and pytest runs it on a fresh database of its
own: it fails, with the paths' disagreement. Plain ``dualpath run`` opens no group in the same
minute. Each process is stopped with SIGTERM and must exit cleanly.

Margins: on an idle machine the group shows 5 to 10 s after the start (most of it the
migration and the seeding); the minute leaves a busy 2-core machine several times that.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo_bugs import DEMO_BUGS
from tests.conftest import create_database, drop_database
from tests.database import admin_url
from tests.integration.service.served import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LOOP_S = 60.0  # from the start of `dualpath run` to the group, its diff and blocked readiness
REPRO_S = 300.0  # writing and running the reproduction (a fresh database, migrated)
TOKEN = "newcomer-loop-token"
CLI = "from app.cli import main; main()"
DIFF_ROW = re.compile(
    r'<tr class="diff"><td><code>(.*?)</code></td><td>(.*?)</td><td>(.*?)</td></tr>', re.S
)


@dataclass
class Run:
    """A running ``dualpath run``: its process, URL, database and start time."""

    process: subprocess.Popen[str]
    url: str
    database_url: str
    started: float

    def get(self, path: str) -> httpx.Response:
        """``GET path`` on the service, with the ops token."""
        return httpx.get(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )

    def elapsed(self) -> float:
        """Seconds since the process started."""
        return time.monotonic() - self.started


def _env(**overrides: str | None) -> dict[str, str]:
    merged = {**os.environ, "PYTHONPATH": str(ROOT), **overrides}
    merged.pop("PYTEST_ADDOPTS", None)
    return {k: v for k, v in merged.items() if v is not None}


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty database: ``dualpath run`` migrates and seeds it."""
    url = create_database("dualpath_newcomer")
    try:
        yield url
    finally:
        drop_database(url)


def start(database_url: str, *extra: str) -> Run:
    """``dualpath run`` over ``database_url`` on a free port, as a newcomer starts it."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "run", "--players", "50", "--port", str(port), *extra],
        cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_env(DATABASE_URL=database_url, DUALPATH_OPS_TOKEN=TOKEN,
                 DUALPATH_LOG_FORMAT="json"),
    )  # fmt: skip
    return Run(process, f"http://127.0.0.1:{port}", database_url, started)


def stop(run: Run) -> tuple[str, str]:
    """SIGTERM, then its output; it must exit 0."""
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGTERM)
    try:
        out, err = run.process.communicate(timeout=120)
    finally:
        if run.process.poll() is None:
            run.process.kill()
            run.process.communicate()
    assert run.process.returncode == 0, err[-3000:]
    return out, err


def poll(run: Run, operation: str, seen: dict[str, Any]) -> bool:
    """One look at the service; ``seen`` collects what the newcomer has been shown so far of
    the open group of ``operation``."""
    if run.process.poll() is not None:
        raise AssertionError(f"dualpath run exited: {run.process.communicate()[1][-3000:]}")
    try:
        groups = run.get("/api/divergences?status=open").json()
    except httpx.HTTPError:
        return False  # not serving yet
    mine = [g for g in groups if g["operation"] == operation]
    if mine and "group" not in seen:
        seen["group"] = (mine[0], run.elapsed())
    if "group" in seen and "diff" not in seen:
        diffs = _diff_rows(run, seen["group"][0]["signature"])
        if diffs:
            seen["diff"] = (diffs, run.elapsed())
    if "group" in seen and "readiness" not in seen:
        found = _readiness(run, seen["group"][0])
        if found is not None:
            seen["readiness"] = (found, run.elapsed())
    return {"group", "diff", "readiness"} <= set(seen)


def _diff_rows(run: Run, signature: str) -> list[tuple[str, str, str]]:
    """The side-by-side rows of the group's page that differ."""
    page = run.get(f"/dashboard/divergences/{signature}")
    assert page.status_code == 200, page.text[-2000:]
    assert 'class="sidebyside"' in page.text
    return [row for row in DIFF_ROW.findall(page.text) if row[1] != row[2]]


def _readiness(run: Run, group: dict[str, Any]) -> dict[str, Any] | None:
    """The group's domain's readiness once it is blocked naming the group, else None."""
    found = {r["domain"]: r for r in run.get("/api/readiness").json()}[group["domain"]]
    if found["ready"] or group["signature"] not in found["verdict"]:
        return None
    return dict(found)


def reproduce(run: Run, signature: str, where: Path) -> subprocess.CompletedProcess[str]:
    """Write the group's reproduction with the CLI and run it with pytest (fresh database)."""
    target = where / "repro.py"
    wrote = subprocess.run(
        [sys.executable, "-c", CLI, "divergences", "repro", signature, "-o", str(target)],
        cwd=ROOT, env=_env(DATABASE_URL=run.database_url), capture_output=True, text=True,
        timeout=REPRO_S, check=False,
    )  # fmt: skip
    assert wrote.returncode == 0, wrote.stderr[-3000:]
    assert "captured: " in wrote.stdout, wrote.stdout  # what it inserts, not a warning
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target)],
        cwd=ROOT, env=_env(DATABASE_URL=None, DUALPATH_TEST_ADMIN_URL=admin_url()),
        capture_output=True, text=True, timeout=REPRO_S, check=False,
    )  # fmt: skip


class TestNewcomerLoop:
    """Within a minute of the start: the group, its diff, readiness blocked; the repro fails."""

    @pytest.mark.parametrize("bug", list(DEMO_BUGS))
    def test_demo_bug(self, bug: str, fresh_database: str, tmp_path: Path) -> None:
        run = start(fresh_database, "--demo-bug", bug)
        seen: dict[str, Any] = {}
        try:
            while not poll(run, DEMO_BUGS[bug].method, seen) and run.elapsed() < LOOP_S:
                time.sleep(0.5)
            assert {"group", "diff", "readiness"} <= set(seen), (
                f"after {run.elapsed():.0f} s only {sorted(seen)}"
            )
            group = seen["group"][0]
            [exemplar, *_] = run.get(f"/api/divergences/{group['signature']}").json()["exemplars"]
            assert exemplar["code_version"].endswith(f"+demo-bug.{bug}")
            done = reproduce(run, group["signature"], tmp_path)
            loop_s = run.elapsed()
        finally:
            out, _err = stop(run)
        assert f"demo bug {bug}" in out
        assert f"divergences repro {group['signature']} -o repro.py" in out
        assert done.returncode == 1, done.stdout[-3000:]
        assert "the paths disagree" in done.stdout
        timings = {k: round(v[1], 1) for k, v in seen.items()}
        print(f"{bug}: seen at {timings} s; reproduction failed at {loop_s:.1f} s")
        verdict = seen["readiness"][0]["verdict"]
        assert verdict.startswith("blocked: ") and "open divergence group" in verdict

    def test_plain_run_opens_no_group(self, fresh_database: str) -> None:
        run = start(fresh_database)
        calls = 0
        try:
            while run.elapsed() < LOOP_S:
                try:
                    groups = run.get("/api/divergences").json()
                    rollup = run.get("/api/readiness").json()
                except httpx.HTTPError:
                    time.sleep(0.5)
                    continue
                # the columns the clock fills are found by calibration and judged noise
                # (they count nowhere); any other group, or one not judged so, is a divergence
                assert [g for g in groups if g["status"] != "noise"] == [], groups
                assert all(g["status_by"] == "calibration" for g in groups), groups
                calls = sum(r["comparisons"] for r in rollup)
                time.sleep(2)
        finally:
            out, _err = stop(run)
        assert "demo bug" not in out
        assert calls > 100, f"only {calls} comparisons: the traffic never compared anything"
