"""A host program that uses dualpath as a library, as the README's "Using it from code" shows.

Run by ``test_quiet_outages`` as ``python -m tests.reliability.outage_host DIR ASYNC_IDS
SYNC_IDS`` (comma-separated player ids) with ``DATABASE_URL`` (a password in it) and
``DUALPATH_OPS_TOKEN`` in its environment. It never configures logging: structlog runs on
its defaults, whatever they print. After a short warm-up of traffic it writes ``DIR/ready``,
waits for ``DIR/back`` (the test restarted PostgreSQL meanwhile), keeps the traffic up until
every worker wrote again and ``AFTER_S`` more, and writes its tally to ``DIR/tally.json``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import structlog

from tests.reliability.quiet_outages import (
    AFTER_S,
    WARMUP_S,
    Tally,
    read_loop,
    wait_for,
    wait_until_written,
    write_loop,
)


async def main(folder: Path, async_ids: list[str], sync_ids: list[str]) -> None:
    from app.bootstrap import open_system
    from persistence import get_persistence

    structlog.reset_defaults()
    tally, stop = Tally(), asyncio.Event()
    async with open_system() as system:
        router = system.router

        def async_damage(player_id: str) -> Any:
            async def damage() -> None:
                player = await router.get_player_by_id(player_id)
                await router.damage_player(player, 1, "combat")

            return damage

        def sync_damage(player_id: str) -> Any:
            def damage() -> None:
                legacy = get_persistence()
                legacy.damage_player(legacy.get_player(player_id), 1, "combat")

            async def in_thread() -> None:
                await asyncio.to_thread(damage)

            return in_thread

        loops = [write_loop(p, async_damage(p), tally, stop) for p in async_ids]
        loops += [write_loop(p, sync_damage(p), tally, stop) for p in sync_ids]
        loops.append(read_loop(router.list_rooms, stop))
        tasks = [asyncio.create_task(loop) for loop in loops]
        try:
            await asyncio.sleep(WARMUP_S)
            (folder / "ready").touch()
            await wait_for(folder / "back")
            back = json.loads((folder / "back").read_text())["monotonic"]
            await wait_until_written(tally, back)
            await asyncio.sleep(AFTER_S)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        await system.shadow_runner.drain()
    (folder / "tally.json").write_text(json.dumps(tally.as_dict()))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")))
