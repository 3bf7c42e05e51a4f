"""The channel follower against a real PostgreSQL: reloads on NOTIFY, survives an outage."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from structlog.testing import capture_logs

from flags.listen import ChannelFollower
from tests.integration.flags.conftest import eventually

pytestmark = pytest.mark.integration


class Recorder:
    """What the follower loaded and applied, in order."""

    def __init__(self) -> None:
        self.loads = 0
        self.applied: list[int] = []

    async def load(self, conn: asyncpg.Connection) -> int:
        self.loads += 1
        value: int = await conn.fetchval("SELECT $1::int", self.loads)
        return value

    def apply(self, loaded: int) -> None:
        self.applied.append(loaded)


Load = Callable[[asyncpg.Connection], Awaitable[int]]


def follower(
    url: str, recorder: Recorder, channel: str, *, load: Load | None = None, reload: float = 60
) -> ChannelFollower[int]:
    return ChannelFollower(
        url,
        channel=channel,
        application_name="dualpath-listen-test",
        provider="test",
        load=load or recorder.load,
        apply=recorder.apply,
        reload_interval=reload,
        max_backoff=0.2,
        timeout=1,
    )


@pytest.fixture
def channel() -> str:
    return f"dualpath_listen_{secrets.token_hex(3)}"


@pytest.fixture
async def notify(database_url: str, channel: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    conn = await asyncpg.connect(database_url)

    async def send() -> None:
        await conn.execute("SELECT pg_notify($1, 'x')", channel)

    yield send
    await conn.close()


class TestFollowing:
    """``start`` returns after the first load; each NOTIFY loads again and applies the result."""

    async def test_loads_once_at_start_then_on_each_notify(
        self, database_url: str, channel: str, notify: Callable[[], Awaitable[None]]
    ) -> None:
        recorder = Recorder()
        follows = follower(database_url, recorder, channel)
        await follows.start()
        try:
            assert recorder.applied == [1]
            assert follows.available
            await notify()
            await eventually(lambda: recorder.applied == [1, 2], 1)
        finally:
            await follows.close()

    async def test_reloads_every_interval_without_notify(
        self, database_url: str, channel: str
    ) -> None:
        recorder = Recorder()
        follows = follower(database_url, recorder, channel, reload=0.05)
        await follows.start()
        try:
            await eventually(lambda: len(recorder.applied) >= 3, 2)
        finally:
            await follows.close()

    async def test_close_stops_following(self, database_url: str, channel: str) -> None:
        recorder = Recorder()
        follows = follower(database_url, recorder, channel, reload=0.05)
        await follows.start()
        await follows.close()
        loads = recorder.loads
        await asyncio.sleep(0.2)
        assert recorder.loads == loads


class TestOutage:
    """A failing source is logged once, retried with backoff, and its recovery logged once."""

    async def test_unreachable_is_logged_once(self, channel: str) -> None:
        recorder = Recorder()
        follows = follower("postgresql://postgres@127.0.0.1:9/none", recorder, channel)
        with capture_logs() as logs:
            started = time.monotonic()
            await follows.start()
            assert time.monotonic() - started < 2
            await asyncio.sleep(0.6)
            await follows.close()
        assert not follows.available
        assert recorder.applied == []
        assert [(e["event"], e["provider"]) for e in logs] == [
            ("flags.provider_unavailable", "test")
        ]

    async def test_failing_load_recovers(self, database_url: str, channel: str) -> None:
        recorder = Recorder()
        failures = [RuntimeError("first"), RuntimeError("second")]

        async def flaky(conn: asyncpg.Connection) -> int:
            if failures:
                raise failures.pop(0)
            return await recorder.load(conn)

        follows = follower(database_url, recorder, channel, load=flaky)
        with capture_logs() as logs:
            await follows.start()
            try:
                await eventually(lambda: recorder.applied == [1], 2)
                assert follows.available
            finally:
                await follows.close()
        assert [e["event"] for e in logs] == [
            "flags.provider_unavailable",
            "flags.provider_recovered",
        ]
