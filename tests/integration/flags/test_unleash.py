"""The Unleash provider against a real Unleash server that the suite starts itself."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from flags.model import FlagProvider, FlagState
from flags.unleash import UnleashFlags
from flags.unleash_admin import strategy_body
from tests.integration.unleash_server import UnleashServer, free_port

pytestmark = pytest.mark.integration

FOLLOW_WITHIN = 5.0


@pytest.fixture
def domains() -> list[str]:
    tag = secrets.token_hex(3)
    return [f"player_{tag}", f"room_{tag}"]


def provider(server: UnleashServer, domains: list[str], **options: object) -> UnleashFlags:
    return UnleashFlags(
        server.api_url,
        domains,
        client_token=server.client_token,
        admin_token=server.admin_token,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def flags(unleash_server: UnleashServer, domains: list[str]) -> AsyncIterator[UnleashFlags]:
    started = provider(unleash_server, domains)
    await started.start()
    yield started
    await started.close()


async def eventually(check: Callable[[], bool], within: float = FOLLOW_WITHIN) -> float:
    """Seconds until ``check()`` held; fails the test after ``within`` seconds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def live_share(flags: UnleashFlags, domain: str) -> float:
    return sum(flags.mode_for(domain, f"p{i}", None) == "live" for i in range(2000)) / 2000


class TestFollowingUnleash:
    """Changes made in Unleash reach ``mode_for`` within a few seconds."""

    async def test_is_a_flag_provider(self, flags: UnleashFlags) -> None:
        assert isinstance(flags, FlagProvider)

    async def test_set_through_the_admin_api(self, flags: UnleashFlags, domains: list[str]):
        player = domains[0]
        assert flags.mode_for(player, "k", "api") == "legacy"
        await flags.set(player, "shadow", services=["api"], reason="try", actor="ops")
        await eventually(lambda: flags.mode_for(player, "k", "api") == "shadow")
        assert flags.mode_for(player, "k", "worker") == "legacy"
        await flags.set(player, "live", percent=30, reason="ramp", actor="ops")
        await eventually(lambda: 0.25 < live_share(flags, player) < 0.35)
        await flags.set(player, "legacy", reason="back", actor="ops")
        await eventually(lambda: live_share(flags, player) == 0)
        history = await flags.history(player)
        assert [(c.mode, c.actor, c.reason) for c in history] == [
            ("legacy", "ops", "back"),
            ("live", "ops", "ramp"),
            ("shadow", "ops", "try"),
        ]

    async def test_toggle_made_elsewhere(
        self, flags: UnleashFlags, unleash_server: UnleashServer, domains: list[str]
    ) -> None:
        room = domains[1]
        await flags.set(room, "async", reason="on", actor="ops", forced=True)
        await eventually(lambda: flags.mode_for(room, "k", None) == "async")
        env = f"/api/admin/projects/default/features/dualpath.{room}/environments/development"
        async with httpx.AsyncClient(
            base_url=unleash_server.url, headers={"Authorization": unleash_server.admin_token}
        ) as http:
            (await http.post(f"{env}/off")).raise_for_status()
        took = await eventually(lambda: flags.mode_for(room, "k", None) == "legacy")
        assert took < FOLLOW_WITHIN
        # the poller appends the change to the history just after it puts the new flag in
        # place, on its own thread: give it that moment (1 s at most), then check the actor
        for _ in range(100):
            if (await flags.history(room))[0].actor != "ops":
                break
            await asyncio.sleep(0.01)
        assert (await flags.history(room))[0].actor == "unleash"


class TestWithoutServer:
    """A bootstrap file gives a cold start its flags; an outage is logged once."""

    async def test_cold_start_from_a_bootstrap_file(self, tmp_path: Path, domains: list[str]):
        state = FlagState(domains[0], "async", 100)
        feature = {
            "name": f"dualpath.{domains[0]}",
            "enabled": True,
            "strategies": [strategy_body(state)],
        }
        bootstrap = tmp_path / "unleash-bootstrap.json"
        bootstrap.write_text(json.dumps({"version": 2, "features": [feature]}))
        cold = UnleashFlags(
            f"http://127.0.0.1:{free_port()}/api",
            domains,
            bootstrap_file=bootstrap,
            outage_after=1,
        )
        with capture_logs() as logs:
            await cold.start()
            assert cold.mode_for(domains[0], "k", None) == "async"
            await asyncio.sleep(2.5)
            assert cold.mode_for(domains[0], "k", None) == "async"
            await cold.close()
        outages = [e["event"] for e in logs if e["event"].startswith("flags.provider")]
        assert outages == ["flags.provider_unavailable"]

    async def test_server_stopped_and_restarted(
        self, unleash_server: UnleashServer, domains: list[str]
    ) -> None:
        flags = provider(unleash_server, domains, outage_after=2)
        await flags.start()
        try:
            await flags.set(domains[0], "live", reason="before", actor="ops", forced=True)
            await eventually(lambda: flags.mode_for(domains[0], "k", None) == "live")
            with capture_logs() as logs:
                unleash_server.stop()
                await eventually(lambda: not flags.available)
                await asyncio.sleep(2)
                assert flags.mode_for(domains[0], "k", None) == "live"
                await asyncio.to_thread(unleash_server.start)
                await eventually(lambda: flags.available)
            events = [e["event"] for e in logs if e["event"].startswith("flags.provider")]
            assert events == ["flags.provider_unavailable", "flags.provider_recovered"]
        finally:
            unleash_server.start()
            await flags.close()
