"""A shadow that fails or hangs changes nothing for the caller: same answer, same time.

Each case measures the calls through a router in legacy mode first (the baseline), then the
same calls in shadow mode with a broken async path: the answers are equal, and no shadowed
call takes longer than the slowest baseline call plus a small margin.

The one bounded exception is a shadow write that hangs after it has written: it holds the
player's row in its (rolled-back) transaction, and the next write of that player waits for
it, at most the runner's ``write_hold_ms``, after which the shadow is cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app.bootstrap import System
from persistence.errors import DatabaseError
from persistence.seed import SeedSummary
from routing import PersistenceRouter
from tests.integration.shadow_runner.conftest import set_mode

pytestmark = pytest.mark.integration

MARGIN_S = 0.05
ROUNDS = 8
HOLD_MS = 100


def hangs(original: Any) -> Any:
    async def replacement(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(5)
        return await original(*args, **kwargs)

    return replacement


def hangs_after_writing(original: Any) -> Any:
    """Writes (so holds the player's row in its transaction), then hangs."""

    async def replacement(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        await asyncio.sleep(5)
        return result

    return replacement


def raises(original: Any) -> Any:
    async def replacement(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseError("the shadow's database is down")

    return replacement


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = await call()
    return value, time.perf_counter() - started


async def run_rounds(
    router: PersistenceRouter, world: SeedSummary, player: Any
) -> tuple[list[Any], float]:
    """Reads and 1 HP hits, alternating; the answers and the slowest call."""
    answers, slowest = [], 0.0
    for n in range(ROUNDS):
        read, took = await timed(lambda n=n: router.get_player_by_id(world.player_ids[n % 4]))
        hit, took_hit = await timed(lambda: router.damage_player(player, 1))
        answers.append((read.name, hit))
        slowest = max(slowest, took, took_hit)
    return answers, slowest


class TestBrokenShadow:
    """The caller sees the primary only, whatever the shadow does."""

    @pytest.mark.parametrize(
        ("broken", "extra_s"),
        [(hangs, 0.0), (raises, 0.0), (hangs_after_writing, HOLD_MS / 1000)],
        ids=["hangs", "raises", "hangs-holding"],
    )
    async def test_same_answers_in_the_same_time(
        self,
        system: System,
        world: SeedSummary,
        divergent_router: Callable[..., Any],
        broken: Any,
        extra_s: float,
    ) -> None:
        router = divergent_router(
            write_hold_ms=HOLD_MS, get_player_by_id=broken, damage_player=broken
        )
        player = await system.router.get_player_by_id(world.player_ids[5])
        start_hp = player.stats.current_health
        baseline, slowest = await run_rounds(router, world, player)

        await set_mode(system, "shadow", ("player", "health"))
        shadowed, slowest_shadowed = await run_rounds(router, world, player)

        assert [name for name, _hp in shadowed] == [name for name, _hp in baseline]
        assert [hp for _n, hp in baseline + shadowed] == list(
            range(start_hp - 1, start_hp - 1 - 2 * ROUNDS, -1)
        )
        assert slowest_shadowed < slowest + extra_s + MARGIN_S, (slowest, slowest_shadowed)
