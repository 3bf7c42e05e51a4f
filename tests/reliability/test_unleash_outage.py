"""Unleash as the flag provider: stopped mid-run, and turned back by the guard.

A real Unleash server (tests/integration/unleash_server.py) feeds a whole system. Stopped in
the middle of a traffic run, routing carries on with the last known flags and the outage is
logged once. With an admin token, the guard's rollback caps the domain at once through the
local override and turns the feature back in Unleash too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from persistence.errors import DatabaseError
from tests.integration.unleash_server import UnleashServer, running_unleash
from tests.reliability.conftest import MEASURED, Traffic, run_traffic, settings_for

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


@pytest.fixture(scope="module")
def unleash() -> Iterator[UnleashServer]:
    with running_unleash() as server:
        yield server


@pytest.fixture
async def system(seeded_database: str, unleash: UnleashServer) -> AsyncIterator[Any]:
    from app.bootstrap import open_system

    unleash.start()
    settings = settings_for(
        seeded_database,
        flag_provider="unleash",
        unleash_url=unleash.api_url,
        unleash_client_token=unleash.client_token,
        unleash_admin_token=unleash.admin_token,
    )
    async with open_system(settings) as opened:
        yield opened
        unleash.start()
        for state in await opened.flags.list():
            if state.mode != "legacy" or opened.flags.override_for(state.domain):
                await opened.flags.set(state.domain, "legacy", reason="test over", actor="t")


async def until(check: Any, within: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, f"not within {within} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def to_async(system: Any, domain: str) -> None:
    """Walk ``domain`` to ``async`` through Unleash, one step at a time."""
    for mode in ("shadow", "live", "async"):
        await system.flags.set(domain, mode, reason=f"to {mode}", actor="t")
        await until(lambda m=mode: system.flags.mode_for(domain, "k", None) == m, 10)


class TestUnleashStopped:
    """Routing carries on with the last known flags; the outage is logged once."""

    async def test_outage_mid_run(self, system: Any, unleash: UnleashServer) -> None:
        await to_async(system, "room")
        room = (await system.router.list_rooms())[0].room_id
        traffic, stop = Traffic(), asyncio.Event()
        runner = asyncio.create_task(
            run_traffic(lambda _i: system.router.get_room_by_id(room), traffic, stop)
        )
        try:
            with capture_logs() as logs:
                await asyncio.sleep(0.5)
                await asyncio.to_thread(unleash.stop)
                await until(lambda: not system.flags.inner.available, 15)
                await asyncio.sleep(3)
                assert system.flags.mode_for("room", "k", None) == "async"
        finally:
            stop.set()
            await runner
        outages = [e["event"] for e in logs if e["event"].startswith("flags.provider")]
        assert outages == ["flags.provider_unavailable"]
        assert set(traffic.outcomes) == {"ok"} and traffic.total > 100
        MEASURED.append(f"unleash stopped: {traffic.total} calls served, all ok")


class TestGuardThroughUnleash:
    """A rollback caps the domain at once and turns the feature back in Unleash."""

    async def test_rollback_reaches_unleash(self, system: Any) -> None:
        await to_async(system, "item")
        items = system.async_layer.repos.items

        async def failing(*_args: Any, **_kwargs: Any) -> Any:
            raise DatabaseError("injected fault")

        traffic, stop = Traffic(), asyncio.Event()
        runner = asyncio.create_task(
            run_traffic(lambda i: system.router.get_item_instance(f"i{i}"), traffic, stop)
        )
        try:
            await asyncio.sleep(0.3)
            items.get_item_instance = failing
            capped = await until(lambda: system.flags.mode_for("item", "k", None) == "legacy", 3)
            del items.get_item_instance
            in_unleash = await until_inner_legacy(system)
        finally:
            stop.set()
            await runner
        MEASURED.append(
            f"guard via unleash: capped in {capped:.3f} s, in Unleash {in_unleash:.1f} s"
        )
        assert capped <= 2.0
        history = await system.flags.history("item", 10)
        assert any(c.actor == "guard" and c.mode == "legacy" for c in history)
        assert system.flags.override_for("item").actor == "guard"


async def until_inner_legacy(system: Any, within: float = 10) -> float:
    started = time.monotonic()
    while (await system.flags.inner.get("item")).mode != "legacy":
        assert time.monotonic() - started < within
        await asyncio.sleep(0.1)
    return time.monotonic() - started
