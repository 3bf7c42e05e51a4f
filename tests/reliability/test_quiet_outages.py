"""A PostgreSQL restart is quiet and leaks no secret, whoever configured the logs.

The same restart, under shadow and live traffic, three times: dualpath as a library in a
program that never configured logging (structlog's defaults, whose console renderer prints
every frame's local variables for ``exc_info``), and ``dualpath serve`` with console and with
JSON logs. A password is in ``DATABASE_URL`` (the embedded server's trust auth accepts it)
and an ops token is set. Everything the program wrote, stdout and stderr, must hold neither,
no traceback and no error, and at most two events per component for the outage; and every
player's HP must be within [acknowledged, acknowledged + failed] damage.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import MEASURED, settings_for
from tests.reliability.embedded import EmbeddedPostgres
from tests.reliability.quiet_outages import (
    AFTER_S,
    DOWN_FOR_S,
    MAX_HP,
    MODES,
    START_HP,
    WARMUP_S,
    Tally,
    check_nothing_lost,
    check_quiet,
    read_loop,
    wait_for,
    wait_until_written,
    write_loop,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = f"pw-{secrets.token_hex(8)}"
TOKEN = f"tok-{secrets.token_hex(12)}"
SECRETS = {"database password": PASSWORD, "ops token": TOKEN}
PLAYERS = 8  # half written through the async router, half through the sync facade


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedPostgres]:
    """A migrated, seeded embedded PostgreSQL, removed at the end."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    server = EmbeddedPostgres()
    try:
        upgrade(server.url)
        seed_world(server.url, players=PLAYERS + 2, seed=17)
        yield server
    finally:
        server.remove()


@pytest.fixture
async def players(embedded: EmbeddedPostgres) -> AsyncIterator[list[str]]:
    """Players with HP far from both clamps, and the flags of the scenario."""
    from app.bootstrap import open_system

    settings = settings_for(embedded.url, guard_enabled=False)
    async with open_system(settings) as system:
        for domain, mode in MODES.items():
            await system.flags.set(domain, mode, reason="outage test", actor="t", forced=True)
        chosen = [str(p.player_id) for p in (await system.router.list_players())[:PLAYERS]]
        for player_id in chosen:
            player = await system.router.get_player_by_id(player_id)
            player.stats.max_health = MAX_HP
            player.stats.current_health = START_HP
            await system.router.save_player(player)
    yield chosen


async def final_hp(url: str, ids: list[str]) -> dict[str, int]:
    from app.bootstrap import open_system

    async with open_system(settings_for(url, guard_enabled=False)) as system:
        return {p: (await system.router.get_player_by_id(p)).stats.current_health for p in ids}


def environment(embedded: EmbeddedPostgres) -> dict[str, str]:
    """The program's environment: a password in the URL, an ops token, nothing else of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUALPATH_")}
    env.update(
        DATABASE_URL=embedded.url_with_password(PASSWORD),
        DUALPATH_OPS_TOKEN=TOKEN,
        # The guard would roll domains back on the outage's errors and latencies; this test
        # is about what is logged (tests/reliability/test_guard.py is about the guard).
        DUALPATH_GUARD_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    return env


async def restart(embedded: EmbeddedPostgres) -> float:
    """Stop PostgreSQL for ``DOWN_FOR_S`` and start it again; when it was back."""
    await asyncio.to_thread(embedded.stop)
    await asyncio.sleep(DOWN_FOR_S)
    await asyncio.to_thread(embedded.start)
    return time.monotonic()


async def collect(stream: asyncio.StreamReader, into: list[bytes]) -> None:
    while chunk := await stream.read(65536):
        into.append(chunk)


class Program:
    """A subprocess whose stdout and stderr are read in full while it runs."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            asyncio.create_task(collect(proc.stdout, self.out)),
            asyncio.create_task(collect(proc.stderr, self.err)),
        ]

    @classmethod
    async def start(cls, *args: str, env: dict[str, str]) -> Program:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def finish(self, timeout_s: float = 120.0) -> str:
        """Wait for the exit; everything written, stdout then stderr."""
        async with asyncio.timeout(timeout_s):
            await self.proc.wait()
            await asyncio.gather(*self._readers)
        return self.output

    async def stop(self) -> str:
        """SIGINT (Ctrl-C), then wait."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
        return await self.finish()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()

    @property
    def output(self) -> str:
        return (b"".join(self.out) + b"".join(self.err)).decode(errors="replace")


def measured(label: str, counted: Any, output: str, tally: Tally) -> None:
    total = sum(counted.values())
    MEASURED.append(
        f"quiet outage ({label}): {total} outage events in {len(counted)} components "
        f"{dict(counted)}; {len(output.splitlines())} lines written; "
        f"{sum(tally.acknowledged.values())} writes acknowledged, "
        f"{sum(tally.failed.values())} failed"
    )


class TestLibrary:
    """``async with open_system()`` in a host that never configured logging."""

    async def test_restart_is_quiet_and_loses_nothing(
        self, embedded: EmbeddedPostgres, players: list[str], tmp_path: Path
    ) -> None:
        half = len(players) // 2
        async_ids, sync_ids = players[:half], players[half:]
        host = await Program.start(
            sys.executable,
            "-m",
            "tests.reliability.outage_host",
            str(tmp_path),
            ",".join(async_ids),
            ",".join(sync_ids),
            env=environment(embedded),
        )
        try:
            await wait_for(tmp_path / "ready")
            back = await restart(embedded)
            (tmp_path / "back").write_text(json.dumps({"monotonic": back}))
            output = await host.finish()
        finally:
            host.kill()
        assert host.proc.returncode == 0, output[-3000:]
        tally = Tally.load(json.loads((tmp_path / "tally.json").read_text()))
        counted = check_quiet(output, SECRETS)
        check_nothing_lost(
            dict.fromkeys(players, START_HP), await final_hp(embedded.url, players), tally
        )
        measured("library, structlog defaults", counted, output, tally)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def serving(base: str, program: Program, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as client:
        while time.monotonic() < deadline:
            assert program.proc.returncode is None, program.output[-3000:]
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("dualpath serve never answered /healthz")


async def http_traffic(
    client: httpx.AsyncClient, players: list[str], tally: Tally, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    half = len(players) // 2

    def damage(path: str) -> Any:
        async def call() -> None:
            answer = await client.post(path, json={"amount": 1, "damage_type": "combat"})
            answer.raise_for_status()

        return call

    async def rooms() -> None:
        (await client.get("/api/rooms")).raise_for_status()

    loops = [write_loop(p, damage(f"/api/players/{p}/damage"), tally, stop) for p in players[:half]]
    loops += [
        write_loop(p, damage(f"/api/legacy/players/{p}/damage"), tally, stop)
        for p in players[half:]
    ]
    loops.append(read_loop(rooms, stop))
    return [asyncio.create_task(loop) for loop in loops]


class TestServe:
    """``dualpath serve`` as a subprocess, with console and with JSON logs."""

    @pytest.mark.parametrize("log_format", ["console", "json"])
    async def test_restart_is_quiet_and_loses_nothing(
        self, embedded: EmbeddedPostgres, players: list[str], log_format: str
    ) -> None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = await Program.start(
            str(ROOT / ".venv" / "bin" / "dualpath")
            if (ROOT / ".venv" / "bin" / "dualpath").exists()
            else "dualpath",
            "serve",
            "--port",
            str(port),
            "--log-format",
            log_format,
            env=environment(embedded),
        )
        tally, stop = Tally(), asyncio.Event()
        try:
            await serving(base, serve)
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with httpx.AsyncClient(base_url=base, timeout=20.0, headers=headers) as client:
                health = (await client.get("/healthz")).json()
                tasks = await http_traffic(client, players, tally, stop)
                try:
                    await asyncio.sleep(WARMUP_S)
                    back = await restart(embedded)
                    await wait_until_written(tally, back)
                    await asyncio.sleep(AFTER_S)
                finally:
                    stop.set()
                    await asyncio.gather(*tasks)
            output = await serve.stop()
        finally:
            serve.kill()
        assert PASSWORD not in json.dumps(health)
        assert health["checks"]["database"]["url"].count("***") == 1, health
        counted = check_quiet(output, SECRETS)
        check_nothing_lost(
            dict.fromkeys(players, START_HP), await final_hp(embedded.url, players), tally
        )
        measured(f"dualpath serve, {log_format} logs", counted, output, tally)
