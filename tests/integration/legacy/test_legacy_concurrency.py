"""Many threads on one legacy layer: atomic writes lose no update."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from persistence.events import HPChanged, XPGained
from persistence.legacy import PersistenceLayer
from persistence.models import Player, Stats
from persistence.rules import level_for_xp
from tests.integration.legacy.conftest import EventLog

pytestmark = pytest.mark.integration

THREADS = 20
CALLS = 20


def hammer(work: Callable[[], object]) -> None:
    """Run ``work`` CALLS times in each of THREADS threads, and re-raise any failure."""

    def repeat() -> None:
        for _ in range(CALLS):
            work()

    with ThreadPoolExecutor(THREADS) as executor:
        for future in [executor.submit(repeat) for _ in range(THREADS)]:
            future.result()


class TestNoLostUpdates:
    """20 threads x 20 calls give exactly the sum of their changes."""

    def test_damage_of_one_hp_from_many_threads_sums_exactly(
        self, world: str, make_player: Callable[..., Player], log: EventLog
    ) -> None:
        log.watch(HPChanged)
        player = make_player(stats=Stats(current_health=1000, max_health=1000))
        layer = PersistenceLayer(world, event_bus=log.bus, pool_size=10)
        try:
            hammer(lambda: layer.damage_player(player, 1))
            stored = layer.get_player(player.player_id)
        finally:
            layer.close()
        assert stored is not None
        assert stored.stats.current_health == 1000 - THREADS * CALLS
        assert len(log.events) == THREADS * CALLS
        assert sorted(e.new_hp for e in log.events) == list(range(600, 1000))  # type: ignore[attr-defined]

    def test_xp_from_many_threads_sums_exactly_and_keeps_the_level(
        self, world: str, make_player: Callable[..., Player], log: EventLog
    ) -> None:
        log.watch(XPGained)
        player = make_player()
        layer = PersistenceLayer(world, event_bus=log.bus, pool_size=4)
        try:
            hammer(lambda: layer.update_player_xp(player.player_id, 7, "quest"))
            stored = layer.get_player(player.player_id)
        finally:
            layer.close()
        assert stored is not None
        assert stored.experience_points == 7 * THREADS * CALLS
        assert stored.level == level_for_xp(7 * THREADS * CALLS)
        assert len(log.events) == THREADS * CALLS

    def test_a_pool_smaller_than_the_threads_serves_them_all(
        self, world: str, make_player: Callable[..., Player]
    ) -> None:
        player = make_player(stats=Stats(current_health=1000, max_health=1000))
        layer = PersistenceLayer(world, pool_size=2, acquire_timeout=10)
        try:
            hammer(lambda: layer.update_player_health(player.player_id, -1, "bleed"))
            stored = layer.get_player(player.player_id)
        finally:
            layer.close()
        assert stored is not None and stored.stats.current_health == 600
