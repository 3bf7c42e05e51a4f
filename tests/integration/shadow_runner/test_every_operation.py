"""Every registered operation in shadow and in live mode, async and sync: no divergence.

The system runs in test mode (``raise_on_divergence``): each caller waits for its own
comparison, so every call is compared (none gives way to the next) and a divergence would
fail the call that caused it. The answers equal a legacy-only run of the same scenario.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from app.bootstrap import System
from app.operations import LEGACY_NAMES, build_registry
from app.settings import Settings
from flags.model import Mode
from persistence.seed import SeedSummary
from tests.integration.routing.scenario import Call, Run, World, load_world, run_scenario
from tests.integration.shadow_runner.conftest import set_mode, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.busy_cpu]

_runs = itertools.count()


@pytest.fixture(scope="module")
def scenario_world(database_url: str, world: SeedSummary) -> Iterator[World]:
    """Facts about the seeded world, and users for the scenario's new players."""
    conn = psycopg2.connect(database_url)
    try:
        yield load_world(conn)
    finally:
        conn.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, raise_on_divergence=True)


class Counted:
    """A scenario target that counts its calls."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.calls = 0

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.call(name, *args, **kwargs)


def through_router(system: System) -> Call:
    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(system.router, name)(*args, **kwargs)

    return call


def through_sync(system: System) -> Call:
    async def call(name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(system.sync, LEGACY_NAMES.get(name, name))
        return await asyncio.to_thread(method, *args, **kwargs)

    return call


async def scenario(call: Call, world: World) -> Run:
    n = next(_runs)
    users = tuple(world.free_user_ids[2 * n : 2 * n + 2])
    return await run_scenario(call, world, f"s{n}x", users)


class TestEveryOperation:
    """The scenario covers the registry; every call is compared and agrees."""

    @pytest.mark.parametrize("caller", ["async", "sync"])
    @pytest.mark.parametrize("mode", ["shadow", "live"])
    async def test_no_divergence(
        self, system: System, scenario_world: World, mode: Mode, caller: str
    ) -> None:
        target = through_router(system) if caller == "async" else through_sync(system)
        legacy_only = await scenario(target, scenario_world)
        await set_mode(system, mode)
        counted = Counted(target)
        compared_before = system.shadow_runner.compared

        shadowed = await scenario(counted, scenario_world)

        await system.shadow_runner.drain()
        await system.divergences.flush()
        assert shadowed.called == build_registry().names()
        assert shadowed.results == legacy_only.results
        assert await system.divergences.groups() == []
        runner = system.shadow_runner
        assert runner.compared - compared_before == counted.calls, dict(runner.skipped)
