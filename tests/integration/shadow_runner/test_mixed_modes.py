"""Domains in different modes share rows: a write of an unshadowed domain is still heard.

``player`` is shadowed while ``experience`` stays in ``legacy`` (or is already ``async``); an
XP change writes the player row that a shadowed ``get_player_by_id`` compares. Here the XP
write always lands between the two reads (the shadow read makes it, through the router, after
the primary has read), so without the write watch hearing it the comparison would be a
certain ``result_mismatch`` at ``experience_points``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from app.bootstrap import System
from flags.model import Mode
from persistence.seed import SeedSummary
from routing import PersistenceRouter
from tests.integration.shadow_runner.conftest import set_mode, settle

pytestmark = pytest.mark.integration

READS = 5


def xp_written_between_reads(
    router: Callable[[], PersistenceRouter], caller: str
) -> Callable[[Any], Any]:
    """The async ``get_player_by_id``, which first waits for the primary, then adds XP."""

    def make(original: Any) -> Any:
        async def read(player_id: Any) -> Any:
            await asyncio.sleep(0.05)  # the legacy primary has read by now
            if caller == "sync":
                write = router().sync.update_player_xp
                await asyncio.to_thread(write, player_id, 7, "between the reads")
            else:
                await router().update_player_xp(player_id, 7, "between the reads")
            return await original(player_id)

        return read

    return make


async def stored(system: System, player_id: Any) -> Any:
    """The player as stored, read on the legacy path directly."""
    return await asyncio.to_thread(system.legacy.get_player, player_id)


@pytest.mark.parametrize("writer_mode", ["legacy", "async"])
@pytest.mark.parametrize("caller", ["async", "sync"])
async def test_unshadowed_write_between_the_reads_is_a_race_not_a_divergence(
    system: System,
    world: SeedSummary,
    divergent_router: Callable[..., PersistenceRouter],
    writer_mode: Mode,
    caller: str,
) -> None:
    routers: list[PersistenceRouter] = []
    make = xp_written_between_reads(lambda: routers[0], caller)
    router = divergent_router(get_player_by_id=make)
    routers.append(router)
    await set_mode(system, "shadow", ("player",))
    if writer_mode == "async":
        await system.flags.set("experience", "async", reason="test", actor="test", forced=True)
    before = dict(router.runner.skipped)  # type: ignore[attr-defined]
    xp = {}
    for player_id in world.player_ids[:READS]:
        xp[player_id] = (await stored(system, player_id)).experience_points
        player = await router.get_player_by_id(player_id)
        assert player.experience_points == xp[player_id]  # the primary answered, before the XP
    await router.runner.drain()  # type: ignore[attr-defined]
    await settle(system)
    skipped = router.runner.skipped  # type: ignore[attr-defined]
    assert skipped["raced"] - before.get("raced", 0) == READS
    assert list(await system.divergences.groups()) == []
    for player_id in world.player_ids[:READS]:  # every XP write landed, once
        assert (await stored(system, player_id)).experience_points == xp[player_id] + 7
