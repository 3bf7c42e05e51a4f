"""A write in shadow or live mode lands exactly as a legacy-only write does: once.

Three players start identical; the same writes are made on the first in legacy mode and on
the others in shadow and in live mode (half through the sync facade). Their rows end equal,
and so do the events each published. The same for containers and the items put in them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import asyncpg
import pytest

from app.bootstrap import System
from app.settings import Settings
from persistence.events import HPChanged, PlayerLeveledUp, StatChanged, XPGained
from persistence.seed import SeedSummary
from tests.integration.shadow_runner.conftest import (
    column_of,
    only_noise,
    set_mode,
    settings_for,
    stamped_columns,
)

pytestmark = pytest.mark.integration

COLUMNS = "stats, experience_points, level, inventory, equipped, current_room_id"


async def make_identical(url: str, source: Any, targets: list[Any]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            f"UPDATE players t SET ({COLUMNS}) = (SELECT {COLUMNS} FROM players"
            " WHERE player_id = $1) WHERE t.player_id = ANY($2)",
            source,
            targets,
        )
    finally:
        await conn.close()


async def rows(url: str, ids: list[Any]) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        found = {
            r["player_id"]: tuple(r.values())[1:]
            for r in await conn.fetch(
                f"SELECT player_id, {COLUMNS} FROM players WHERE player_id = ANY($1)", ids
            )
        }
    finally:
        await conn.close()
    return [found[i] for i in ids]


async def contents(url: str, container: Any) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        rows_ = await conn.fetch(
            "SELECT c.position, i.prototype_id, i.owner_type FROM container_contents c"
            " JOIN item_instances i USING (item_instance_id) WHERE c.container_id = $1"
            " ORDER BY c.position",
            container,
        )
    finally:
        await conn.close()
    return [tuple(r.values()) for r in rows_]


async def player_writes(system: System, player_id: Any, sync: bool) -> None:
    router, facade = system.router, system.sync
    player = await router.get_player_by_id(player_id)
    await router.damage_player(player, 5, "claws")
    if sync:
        await asyncio.to_thread(facade.heal_player, player, 2)
        await asyncio.to_thread(facade.gain_experience, player, 150, "quest")
    else:
        await router.heal_player(player, 2)
        await router.gain_experience(player, 150, "quest")
    await router.update_player_health(player_id, -3, "trap")
    await router.update_player_xp(player_id, -20, "penalty")
    await router.update_player_stat_field(player_id, "sanity", -5, "horror")
    await router.update_player_stat_field(player_id, "fear", 3, "horror")


async def container_writes(system: System, room: str, prototype: str, tag: str) -> Any:
    router = system.router
    container = await router.create_container("environment", room_id=room, capacity_slots=4)
    for n in range(3):
        await router.create_item_instance(f"item_{tag}_{n}", prototype)
        await router.add_item_to_container(container.container_id, f"item_{tag}_{n}")
    await router.remove_item_from_container(container.container_id, f"item_{tag}_1")
    await router.delete_item_instance(f"item_{tag}_1")
    await router.update_container(container.container_id, lock_state="locked")
    return container.container_id


@pytest.fixture(params=[0.0, 100.0], ids=["uncalibrated", "calibrated"])
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    return settings_for(database_url, calibration_percent=request.param)


class TestExactlyOnce:
    """The same writes, in legacy, shadow and live mode, leave the same rows and events."""

    async def test_players_and_containers(
        self, system: System, world: SeedSummary, database_url: str
    ) -> None:
        ids = list(world.player_ids[10:13])
        await make_identical(database_url, ids[0], ids[1:])
        seen: dict[Any, Counter[str]] = {i: Counter() for i in ids}
        for kind in (HPChanged, XPGained, PlayerLeveledUp, StatChanged):
            system.events.subscribe(kind, lambda e: seen[e.player_id].update([type(e).__name__]))
        room = (await system.router.get_player_by_id(ids[0])).current_room_id
        prototype = "junk.fish_scale"
        containers = []
        for player_id, mode in zip(ids, ("legacy", "shadow", "live"), strict=True):
            await set_mode(system, mode)
            await player_writes(system, player_id, sync=mode != "legacy")
            tag = uuid.uuid4().hex[:8]
            containers.append(await container_writes(system, room, prototype, tag))
            await system.shadow_runner.drain()

        legacy_row, *others = await rows(database_url, ids)
        assert others == [legacy_row, legacy_row]
        assert seen[ids[1]] == seen[ids[0]] == seen[ids[2]]
        assert sum(seen[ids[0]].values()) >= 7
        legacy_items, *other_items = [await contents(database_url, c) for c in containers]
        assert legacy_items == [(0, prototype, "container"), (2, prototype, "container")]
        assert other_items == [legacy_items, legacy_items]
        await system.divergences.flush()
        calibrated = system.shadow_runner.calibration.calibrated
        assert calibrated > 0 if system.settings.calibration_percent else calibrated == 0
        if calibrated:
            await only_noise(system)
        else:
            # nothing calibrates the columns the clock fills, and no list names them: they are
            # what differs, and nothing else
            stamped = await stamped_columns(database_url)
            for g in await system.divergences.groups():
                assert {column_of(p) for p in g.diff_paths} <= stamped, (g.operation, g.diff_paths)
