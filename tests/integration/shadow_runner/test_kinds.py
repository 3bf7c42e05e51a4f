"""Each kind of divergence, injected into the async path, is detected, classified and stored.

The async path is the shadow (``shadow`` mode); one of its methods is replaced by a divergent
one, the call goes through a router served by the shadow runner, and the group and its
exemplar are read back through ``system.divergences``.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

import pytest

from app.bootstrap import System
from persistence.errors import DatabaseError, NotFoundError
from persistence.events import PlayerMortallyWounded
from persistence.seed import SeedSummary
from routing import PersistenceRouter
from shadow.engine import DivergenceError
from tests.integration.shadow_runner.conftest import set_mode

pytestmark = pytest.mark.integration

Build = Callable[..., PersistenceRouter]


def more_health(original: Any) -> Any:
    async def get_player_by_id(player_id: Any) -> Any:
        player = await original(player_id)
        player.stats.current_health += 1
        return player

    return get_player_by_id


def not_found(original: Any) -> Any:
    async def get_player_by_id(player_id: Any) -> Any:
        raise NotFoundError(f"player {player_id} not found")

    return get_player_by_id


def database_down(original: Any) -> Any:
    async def get_player_by_id(player_id: Any) -> Any:
        raise DatabaseError("connection refused")

    return get_player_by_id


def slow(original: Any) -> Any:
    async def get_player_by_id(player_id: Any) -> Any:
        await asyncio.sleep(1.0)
        return await original(player_id)

    return get_player_by_id


def saves_more_fear(original: Any) -> Any:
    async def save_player(player: Any) -> None:
        changed = copy.deepcopy(player)
        changed.stats.fear += 1
        await original(changed)

    return save_player


def extra_event(database: Any) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        async def damage_player(player: Any, amount: int, damage_type: str = "physical") -> int:
            hp = await original(player, amount, damage_type)
            database.unit_of_work().events.append(PlayerMortallyWounded(player.player_id, hp))
            return hp

        return damage_player

    return make


async def groups_of(system: System, router: PersistenceRouter, kind: str) -> list[Any]:
    await router.runner.drain()  # type: ignore[attr-defined]
    await system.divergences.flush()
    return await system.divergences.groups(kind=kind)


class TestEachKind:
    """One injected difference, one group of the right kind, with an exemplar."""

    @pytest.mark.parametrize(
        ("replacement", "kind", "path"),
        [
            (more_health, "result_mismatch", "root['stats']['current_health']"),
            (not_found, "error_mismatch", "error"),
        ],
        ids=["result", "error"],
    )
    async def test_read(
        self,
        system: System,
        world: SeedSummary,
        divergent_router: Build,
        replacement: Any,
        kind: str,
        path: str,
    ) -> None:
        router = divergent_router(timeout_s=0.3, get_player_by_id=replacement)
        await set_mode(system, "shadow", ("player",))
        player_id = world.player_ids[0]
        expected = await asyncio.to_thread(system.legacy.get_player, player_id)
        for _ in range(3):
            assert await router.get_player_by_id(player_id) == expected
        [group] = await groups_of(system, router, kind)
        assert (group.domain, group.operation, group.count) == ("player", "get_player_by_id", 3)
        assert group.diff_paths == (path,)
        [exemplar, *_] = await system.divergences.exemplars(group.signature)
        assert exemplar.primary_path == "legacy" and exemplar.mode == "shadow"
        assert exemplar.inputs["args"] == [str(player_id)]

    @pytest.mark.parametrize(
        ("replacement", "kind"),
        [(database_down, "infrastructure"), (slow, "timeout")],
        ids=["shadow-error", "timeout"],
    )
    async def test_the_shadows_own_failure_is_its_health_not_a_group(
        self,
        system: System,
        world: SeedSummary,
        divergent_router: Build,
        replacement: Any,
        kind: str,
    ) -> None:
        router = divergent_router(timeout_s=0.3, get_player_by_id=replacement)
        await set_mode(system, "shadow", ("player",))
        player_id = world.player_ids[0]
        coverage = system.shadow.coverage
        before = coverage.health[("player", "get_player_by_id", kind)]
        expected = await asyncio.to_thread(system.legacy.get_player, player_id)
        for _ in range(3):
            assert await router.get_player_by_id(player_id) == expected
        assert await groups_of(system, router, "shadow_error") == []
        assert await system.divergences.groups(kind="shadow_timeout") == []
        assert coverage.health[("player", "get_player_by_id", kind)] == before + 3
        [exemplar, *_] = coverage.exemplars("player")
        assert (exemplar.kind, exemplar.operation, exemplar.mode) == (
            kind, "get_player_by_id", "shadow",
        )  # fmt: skip
        assert exemplar.inputs["args"] == [str(player_id)] and exemplar.elapsed_ms > 0

    async def test_effect(
        self, system: System, world: SeedSummary, divergent_router: Build
    ) -> None:
        router = divergent_router(save_player=saves_more_fear)
        await set_mode(system, "shadow", ("player",))
        player = await router.get_player_by_id(world.player_ids[1])
        await router.save_player(player)
        [group] = await groups_of(system, router, "effect_mismatch")
        assert group.operation == "save_player"
        assert group.diff_paths == ("effects['player']['players'][*]['stats']['fear']",)
        [exemplar] = await system.divergences.exemplars(group.signature)
        assert exemplar.diff["effects['player']['players'][0]['stats']['fear']"] == {
            "primary": player.stats.fear,
            "shadow": player.stats.fear + 1,
        }
        stored = await asyncio.to_thread(system.legacy.get_player, player.player_id)
        assert stored.stats.fear == player.stats.fear  # the shadow's write was rolled back

    async def test_event(self, system: System, world: SeedSummary, divergent_router: Build) -> None:
        router = divergent_router(damage_player=extra_event(system.async_layer.database))
        await set_mode(system, "shadow", ("player", "health"))
        player = await router.get_player_by_id(world.player_ids[2])
        before = player.stats.current_health
        published: list[object] = []
        system.events.subscribe(PlayerMortallyWounded, published.append)
        assert await router.damage_player(player, 1) == before - 1
        [group] = await groups_of(system, router, "event_mismatch")
        assert group.operation == "damage_player"
        assert group.diff_paths == ("events[*]",)
        assert published == []  # the shadow's events are never published


class TestTestMode:
    """With raise_on_divergence the caller waits for the comparison and gets the error."""

    async def test_divergence_raises_in_the_caller(
        self, system: System, world: SeedSummary, divergent_router: Build
    ) -> None:
        router = divergent_router(raise_on_divergence=True, get_player_by_id=more_health)
        await set_mode(system, "shadow", ("player",))
        with pytest.raises(DivergenceError) as raised:
            await router.get_player_by_id(world.player_ids[0])
        assert raised.value.result.kind == "result_mismatch"

    async def test_sync_caller_gets_it_too(
        self, system: System, world: SeedSummary, divergent_router: Build
    ) -> None:
        router = divergent_router(raise_on_divergence=True, get_player_by_id=more_health)
        await set_mode(system, "shadow", ("player",))
        with pytest.raises(DivergenceError):
            await asyncio.to_thread(router.sync.get_player, world.player_ids[0])

    async def test_agreeing_paths_answer_normally(
        self, system: System, world: SeedSummary, divergent_router: Build
    ) -> None:
        router = divergent_router(raise_on_divergence=True)
        await set_mode(system, "live", ("player", "health"))
        player = await router.get_player_by_id(world.player_ids[3])
        hp = player.stats.current_health
        assert await router.damage_player(player, 2) == hp - 2
