"""Every routed call is counted under its calling service, on a real PostgreSQL.

Calls come from three services and from none, through the async router, the sync facade and
threads started inside ``calling_service``; the stored per-minute rows say who called.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest

from routing.services import ServiceThread, calling_service
from tests.integration.services.conftest import SERVICES, stored_calls

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


def delta(before: dict[str, tuple[int, ...]], after: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """What was added per service between two readings (services with nothing added left out)."""
    out = {}
    for service, figures in after.items():
        old = before.get(service, (0,) * len(figures))
        added = tuple(a - b for a, b in zip(figures, old, strict=True))
        if any(added):
            out[service] = added
    return out


@calling_service("user_manager")
class UserManager:
    """A service class of the MUD that still calls the blocking API."""

    def __init__(self, sync: Any) -> None:
        self.sync = sync

    def load(self, player_id: Any) -> Any:
        return self.sync.get_player(player_id)


class TestCallsAreCountedByService:
    """Async router, sync facade, threads, and no service at all."""

    async def test_three_services_and_none(self, system: Any, services_database: str) -> None:
        ids = [p.player_id for p in await system.router.list_players(limit=5)]
        await system.attribution.flush()
        before = stored_calls(services_database, "player", "get_player_by_id")

        with calling_service("combat_service"):  # the async router
            for pid in ids[:3]:
                await system.router.get_player_by_id(pid)

        def blocking_callers() -> None:
            manager = UserManager(system.sync)  # the sync facade, by the class decorator
            for pid in ids[:4]:
                manager.load(pid)
            with calling_service("health_service"):  # threads started inside the block
                threads = [
                    ServiceThread(target=system.sync.get_player, args=(pid,)) for pid in ids[:5]
                ]
                plain = threading.Thread(target=system.sync.get_player, args=(ids[0],))
                for thread in [*threads, plain]:
                    thread.start()
                for thread in [*threads, plain]:
                    thread.join()

        await asyncio.to_thread(blocking_callers)
        for pid in ids[:2]:  # no service at all
            await system.router.get_player_by_id(pid)
        await system.attribution.flush()

        added = delta(before, stored_calls(services_database, "player", "get_player_by_id"))
        calls = {service: figures[0] for service, figures in added.items()}
        # The plain thread starts with an empty context: it is unattributed, as documented.
        assert calls == {
            "combat_service": 3,
            "user_manager": 4,
            "health_service": 5,
            "unattributed": 3,
        }

    async def test_a_view_names_its_service_and_wins(
        self, system: Any, services_database: str
    ) -> None:
        pid = (await system.router.list_players(limit=1))[0].player_id
        await system.attribution.flush()
        before = stored_calls(services_database, "player", "get_player_by_id")
        view = system.router.for_service("combat_service")
        with calling_service("user_manager"):
            await view.get_player_by_id(pid)
            await view.get_player_by_id(pid)
        await system.attribution.flush()
        added = delta(before, stored_calls(services_database, "player", "get_player_by_id"))
        assert {s: f[0] for s, f in added.items()} == {"combat_service": 2}

    async def test_comparisons_are_counted_under_the_caller(
        self, system: Any, services_database: str
    ) -> None:
        """In shadow mode both paths run; the comparison lands under the calling service."""
        pid = (await system.router.list_players(limit=1))[0].player_id
        previous = await system.flags.get("room")
        await system.flags.set("room", "shadow", reason="test", actor="test", forced=True)
        try:
            await wait_for_mode(system, "room", "shadow")
            player = await system.router.get_player_by_id(pid)
            await system.attribution.flush()
            before = stored_calls(services_database, "room", "get_room_by_id")
            with calling_service("combat_service"):
                for _ in range(3):
                    await system.router.get_room_by_id(player.current_room_id)
            await asyncio.to_thread(
                calling_service("user_manager")(system.sync.get_room), player.current_room_id
            )
            await system.shadow_runner.drain()
            await system.attribution.flush()
            added = delta(before, stored_calls(services_database, "room", "get_room_by_id"))
        finally:
            await system.flags.set("room", previous.mode, reason="test", actor="test", forced=True)
        assert added["combat_service"] == (3, 3, 0, 3)
        assert added["user_manager"] == (1, 1, 0, 1)
        assert set(added) == {"combat_service", "user_manager"}


async def wait_for_mode(system: Any, domain: str, mode: str, within: float = 5.0) -> None:
    """Until this process routes ``domain`` in ``mode`` (the flag store follows by NOTIFY)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while system.flags.mode_for(domain, None, None) != mode:
        if loop.time() > deadline:
            pytest.fail(f"{domain} did not reach {mode} within {within} s")
        await asyncio.sleep(0.01)


class TestPrometheus:
    """The ``service`` label is exported from zero for every configured service."""

    async def test_configured_services_start_at_zero(self, system: Any) -> None:
        lines = scrape(system)
        for service in ("combat_service", "user_manager", "health_service", "unattributed"):
            zero = (
                f'dualpath_service_calls_total{{domain="experience",operation="gain_experience",'
                f'path="async",service="{service}"}} 0.0'
            )
            assert zero in lines


class TestTheCapHolds:
    """10,000 distinct names: the configured three, three admitted, the rest under ``other``."""

    async def test_ten_thousand_names(self, system: Any, services_database: str) -> None:
        await system.attribution.flush()
        before = stored_calls(services_database, "profession", "get_professions")
        names = [f"npc_system_{i}" for i in range(10_000)]

        async def call_as(name: str) -> None:
            with calling_service(name):
                await system.router.get_professions()

        for start in range(0, len(names), 200):
            await asyncio.gather(*(call_as(n) for n in names[start : start + 200]))
        await system.attribution.flush()
        added = delta(before, stored_calls(services_database, "profession", "get_professions"))
        calls = Counter({service: figures[0] for service, figures in added.items()})
        admitted = set(calls) - {"other"}
        assert admitted <= set(names) and len(admitted) == 3
        assert calls["other"] == 10_000 - 3 and sum(calls.values()) == 10_000
        labels = system.attribution.names.known()
        assert len(labels) == len(SERVICES) + 3 + 2  # configured, admitted, the two reserved
        served = {
            line.split('service="')[1].split('"')[0]
            for line in scrape(system)
            if 'service="' in line
        }
        assert served <= set(labels) and "other" in served


def scrape(system: Any) -> list[str]:
    """The service metrics of the system's registry, as exposition lines."""
    from prometheus_client import generate_latest

    text = generate_latest(system.metrics_registry).decode()
    return [line for line in text.splitlines() if line.startswith("dualpath_service_")]
