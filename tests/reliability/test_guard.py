"""The guard under load: a fault in the new path rolls its domain back within 2 s, everywhere.

Each test opens a whole system (router, shadow runner, flags with overrides, guard) on a
seeded database of its own, runs traffic, injects a fault into the async path, and measures
how long the rollback takes here and in a second OS process with its own system.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from persistence.errors import DatabaseError
from tests.reliability.conftest import MEASURED, Traffic, run_traffic, settings_for

pytestmark = [pytest.mark.reliability]

ROOT = Path(__file__).resolve().parents[2]
FOLLOWER = Path(__file__).resolve().parent / "follower.py"
WITHIN_S = 2.0


@pytest.fixture
async def system(seeded_database: str) -> AsyncIterator[Any]:
    """A whole system over the module's database; every flag back to legacy afterwards."""
    from app.bootstrap import open_system

    async with open_system(settings_for(seeded_database)) as opened:
        yield opened
        for state in await opened.flags.list():
            if state.mode != "legacy" or opened.flags.override_for(state.domain):
                await opened.flags.set(state.domain, "legacy", reason="test over", actor="test")


def require_runner(system: Any) -> None:
    """These tests need shadow and live served by the shadow runner; say so if it is not."""
    if getattr(system, "shadow_runner", None) is None:
        pytest.skip("the shadow runner is not wired: shadow and live do not compare both paths")


@contextlib.contextmanager
def fault_in_async_path(system: Any, method: str = "get_player_by_id") -> Iterator[None]:
    """Make the async path's player repository fail ``method`` until the block ends."""
    players = system.async_layer.repos.players

    async def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise DatabaseError("injected fault: the async path lost its database")

    setattr(players, method, failing)
    try:
        yield
    finally:
        delattr(players, method)


async def step_to(system: Any, domain: str, mode: str) -> None:
    """Walk ``domain`` up the rollout one legal step at a time to ``mode``."""
    for step in ("shadow", "live", "async")[: ("shadow", "live", "async").index(mode) + 1]:
        await system.flags.set(domain, step, reason=f"test: to {step}", actor="test")


async def player_ids(system: Any) -> list[str]:
    return [str(p.player_id) for p in await system.async_layer.list_players(limit=20)]


async def follower(url: str, domain: str, before: str, after: str) -> Any:
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(FOLLOWER), url, domain, before, after,
        cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"
    return child


async def until(check: Any, within: float) -> float:
    """Seconds until ``check()``; fails after ``within``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            pytest.fail(f"not within {within} s")
        await asyncio.sleep(0.005)
    return time.monotonic() - started


async def rollback_under_fault(
    system: Any, url: str, mode: str, expected: str
) -> tuple[float, float, Traffic]:
    """Run traffic in ``mode``, inject the fault; seconds to roll back here and elsewhere."""
    ids = await player_ids(system)
    child = await follower(url, "player", mode, expected)
    traffic, stop = Traffic(), asyncio.Event()
    runner = asyncio.create_task(
        run_traffic(lambda i: system.router.get_player_by_id(ids[i % len(ids)]), traffic, stop)
    )
    try:
        await asyncio.sleep(0.5)
        with fault_in_async_path(system):
            started_wall, started = time.time(), time.monotonic()
            here = await until(lambda: system.flags.mode_for("player", "k", None) == expected, 5)
            line = await asyncio.wait_for(child.stdout.readline(), 5)
            await until(lambda: rollbacks(system, mode, expected) == 1, 5)  # logged, counted
        there = float(line.split()[1]) - started_wall
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        await runner
        if child.returncode is None:
            child.kill()
        await child.wait()
    return here, there, traffic


class TestGuardRollsBack:
    """A fault in the new path: rolled back within 2 s here and in another process, audited."""

    async def test_async_fault_rolls_back_to_legacy(
        self, system: Any, seeded_database: str
    ) -> None:
        await step_to(system, "player", "async")
        with capture_logs() as logs:
            here, there, traffic = await rollback_under_fault(
                system, seeded_database, "async", "legacy"
            )
        MEASURED.append(f"guard async→legacy: {here:.3f} s here, {there:.3f} s in a 2nd process")
        assert here <= WITHIN_S and there <= WITHIN_S
        assert traffic.outcomes["DatabaseError"] > 0
        await assert_audited(system, "async", "legacy", logs)

    async def test_live_fault_rolls_back_to_shadow(self, system: Any, seeded_database: str) -> None:
        require_runner(system)
        await step_to(system, "player", "live")
        with capture_logs() as logs:
            here, there, _ = await rollback_under_fault(system, seeded_database, "live", "shadow")
        MEASURED.append(f"guard live→shadow: {here:.3f} s here, {there:.3f} s in a 2nd process")
        assert here <= WITHIN_S and there <= WITHIN_S
        await assert_audited(system, "live", "shadow", logs)


def rollbacks(system: Any, from_mode: str, to_mode: str) -> float | None:
    labels = {"domain": "player", "from_mode": from_mode, "to_mode": to_mode}
    return system.metrics_registry.get_sample_value("dualpath_guard_rollbacks_total", labels)


async def assert_audited(system: Any, from_mode: str, to_mode: str, logs: list[Any]) -> None:
    latest = (await system.flags.history("player", 5))[0]
    assert (latest.actor, latest.previous_mode, latest.mode) == ("guard", from_mode, to_mode)
    assert latest.reason.startswith("guard: catastrophe: fail; n async ")
    decided = latest.extra["figures"]["decided_by"]
    assert decided["rule"] == "catastrophe" and decided["extra"]["errors"] > 0
    assert decided["estimate"] >= decided["threshold"] == 0.5
    events = [e for e in logs if e["event"] == "guard.rollback"]
    assert [(e["from_mode"], e["to_mode"]) for e in events] == [(from_mode, to_mode)]
    assert rollbacks(system, from_mode, to_mode) == 1
    assert system.flags.override_for("player").mode == to_mode


class TestReadinessUnderDivergence:
    """An injected divergence while in shadow blocks readiness for live."""

    async def test_divergence_in_shadow_blocks(self, system: Any) -> None:
        from app.readiness import ReadinessRules, assess_system

        require_runner(system)
        for group in await system.divergences.groups(domain="player", status="open"):
            await system.divergences.mark_fixed(group.signature, actor="test", reason="earlier")
        await step_to(system, "player", "shadow")
        ids = await player_ids(system)
        players = system.async_layer.repos.players
        real = players.get_player_by_id

        async def wrong_level(player_id: Any) -> Any:
            found = await real(player_id)
            if found is not None:
                found.level += 1
            return found

        rules = ReadinessRules(min_minutes=0, target_rate=0.5)
        for player_id in ids[:5]:
            await system.router.get_player_by_id(player_id)
        await system.shadow_runner.drain()
        await system.divergences.flush()
        before = {r.domain: r for r in await assess_system(system, rules)}["player"]
        players.get_player_by_id = wrong_level
        try:
            assert await system.router.get_player_by_id(ids[0]) == await real(ids[0])
        finally:
            del players.get_player_by_id
        await system.shadow_runner.drain()
        await system.divergences.flush()
        after = {r.domain: r for r in await assess_system(system, rules)}["player"]
        # Earlier tests' calls may share the rollup's minute; open groups are this test's own.
        assert before.open_groups == 0 and "open divergence group" not in before.verdict
        assert not after.ready and "1 open divergence group" in after.verdict
        assert system.flags.mode_for("player", "k", None) == "shadow"  # shown, not rolled back
