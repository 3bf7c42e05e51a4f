"""Replay: a recorded regression re-judged with a looser threshold and with the live one.

The module records one window on its own database: ``player`` in ``live``, its async reads
made 2x slower until the guard rolls it back. Replayed with ``max_latency_ratio`` 3 nothing
rolls back; replayed with the thresholds the live guard used, the replay decides every look
as the live guard did and rolls back at the very look the live guard chose. The calls carry
the event-loop lag they were timed with, so a replay with another lag threshold judges again.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.guard_injection import slower_async_reads
from tests.reliability.test_guard_regressions import guard_entries, opened, reads, until

pytestmark = [pytest.mark.reliability]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded(seeded_database: str) -> Iterator[dict[str, Any]]:
    """The live guard's rollback of a 2x latency regression, and its record's source."""
    yield asyncio.run(record_regression(seeded_database))


async def record_regression(url: str) -> dict[str, Any]:
    async with opened(url) as system, reads(system):
        # four looks before the regression: on a quiet machine the guard may roll back at the
        # second look after it, and the replays below want five looks or more to judge
        await asyncio.sleep(4.0)
        with slower_async_reads(system, 2.0):
            started = time.time()

            async def audited() -> bool:
                return bool(await guard_entries(system, started))

            await until(audited, 30.0)
            await asyncio.sleep(1.5)  # the look after the rollback is recorded too
        [entry] = await guard_entries(system, started)
        return {
            "source": system.guard.record.source,
            "limits": system.guard.thresholds("player"),
            "entry": entry,
            "started": started,
            "ended": time.time(),
        }


async def replayed(url: str, window: dict[str, Any], limits: Any) -> list[Any]:
    from app.guard_record import load
    from app.guard_replay import replay

    since, until_ = window["started"] - 30, window["ended"]
    record = await load(url, "player", since, until_, limits.window_s)
    return [r for r in replay(record, "player", limits) if r.source == window["source"]]


class TestReplay:
    """The same decision code over the recorded calls, with the live or another threshold."""

    async def test_looser_threshold_never_rolls_back(
        self, seeded_database: str, recorded: dict[str, Any]
    ) -> None:
        looser = recorded["limits"].with_overrides({"max_latency_ratio": 3.0})
        rows = await replayed(seeded_database, recorded, looser)
        assert len(rows) >= 5 and not any(r.acted for r in rows)
        assert any(r.live.outcome == "rollback" for r in rows)

    async def test_live_thresholds_roll_back_at_the_same_look(
        self, seeded_database: str, recorded: dict[str, Any]
    ) -> None:
        rows = await replayed(seeded_database, recorded, recorded["limits"])
        live = recorded["entry"].extra["figures"]
        [acted] = [r for r in rows if r.acted]
        assert acted.decision.at == live["looked_at"]
        assert acted.decision.rollback.as_dict() == live["decided_by"]
        assert acted.decision.streak == live["streak"]
        recorded_outcomes = [r.live.outcome for r in rows]
        assert [outcome(r) for r in rows] == recorded_outcomes

    async def test_the_recorded_loop_lag_is_judged_again(
        self, seeded_database: str, recorded: dict[str, Any]
    ) -> None:
        """Each call's loop lag is in the record: a replay that takes every loop for saturated
        sets every pair aside, so latency is inconclusive and nothing rolls back."""
        strict = recorded["limits"].with_overrides({"max_loop_lag_ms": 1e-6})
        rows = await replayed(seeded_database, recorded, strict)
        assert len(rows) >= 5 and not any(r.acted for r in rows)
        latencies = [v for r in rows for v in r.decision.verdicts if v.rule == "latency"]
        set_aside = sum(v.extra["lagged_pairs"] for v in latencies)
        assert latencies and set_aside > 10 * sum(v.extra["quiet_pairs"] for v in latencies)

    def test_the_command_line(self, seeded_database: str, recorded: dict[str, Any]) -> None:
        minutes = f"{int((time.time() - recorded['started']) // 60) + 2}m"
        loose = cli("--domain", "player", "--since", minutes, "--max-latency-ratio", "3",
                    url=seeded_database)  # fmt: skip
        assert loose.returncode == 0, loose.stderr
        assert "replay rolls back 0 time(s); the live guard rolled back (or dry-ran) 1" in (
            loose.stdout)  # fmt: skip
        same = cli("--domain", "player", "--since", minutes, url=seeded_database)
        assert same.returncode == 0, same.stderr
        [line] = [x for x in same.stdout.splitlines() if " ROLLBACK " in x]
        assert "latency: fail" in line or "tail: fail" in line
        assert line.endswith("[live: rollback]")

    @pytest.mark.parametrize(
        "args",
        [
            ("--domain", "ghost"),
            ("--domain", "player", "--since", "yesterday"),
            ("--domain", "player", "--max-latency-ratio", "-1"),
            ("--domain", "player", "--failure-limit", "0"),
        ],
    )
    def test_bad_input_exits_2(self, seeded_database: str, args: tuple[str, ...]) -> None:
        done = cli(*args, url=seeded_database)
        assert done.returncode == 2 and "error:" in done.stderr


def outcome(row: Any) -> str:
    from app.guard_record import look_outcome

    return look_outcome(row.decision, dry_run=False)


def cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [str(Path(sys.executable).with_name("dualpath")), "guard", "replay", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
