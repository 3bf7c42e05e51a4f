"""The migration guide's three usage snippets, run as written (without the ``server.`` prefix)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from persistence.events import EventBus, HPChanged
from tests.integration.async_path.conftest import PlayerFactory, insert_player, run_sql

pytestmark = pytest.mark.integration


@pytest.fixture
def default_url(world: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL pointing at the test database, as the guide's snippets expect."""
    monkeypatch.setenv("DATABASE_URL", world)
    return world


def hp_of(url: str, player_id: object) -> int:
    rows = run_sql(
        url,
        "SELECT (stats->>'current_health')::int FROM players WHERE player_id = %s",
        (str(player_id),),
    )
    return int(str(rows[0][0]))


class TestGuideSnippets:
    """Options 1 and 2 (async) and 3 (legacy) work as the guide shows them."""

    async def test_option_1_async_facade(
        self, default_url: str, make_player: PlayerFactory
    ) -> None:
        player_id = (await make_player()).player_id
        event_bus = EventBus()

        from async_persistence import AsyncPersistenceLayer

        async_persistence = AsyncPersistenceLayer(event_bus=event_bus)

        player = await async_persistence.get_player_by_id(player_id)
        professions = await async_persistence.get_professions()
        await async_persistence.save_player(player)

        assert player is not None and player.player_id == player_id
        assert [p.name for p in professions] == ["Tramp", "Scholar"]
        await async_persistence.close()

    async def test_option_2_direct_repositories(
        self, default_url: str, make_player: PlayerFactory
    ) -> None:
        player_id = (await make_player()).player_id
        event_bus, seen = EventBus(), []
        event_bus.subscribe(HPChanged, seen.append)

        from async_persistence import AsyncPersistenceLayer
        from persistence.repositories import HealthRepository, PlayerRepository

        async_persistence = AsyncPersistenceLayer()
        player_repo = PlayerRepository(
            room_cache=async_persistence._room_cache, event_bus=event_bus
        )
        health_repo = HealthRepository(event_bus=event_bus)

        player = await player_repo.get_player_by_id(player_id)
        await health_repo.damage_player(player, amount=20, damage_type="combat")
        await player_repo.save_player(player)

        assert player.stats.current_health == 80 == hp_of(default_url, player_id)
        assert [e.damage_type for e in seen] == ["combat"]
        assert await player_repo.validate_and_fix_player_room(player) is False
        assert async_persistence._room_cache.loaded
        await async_persistence.close()


@pytest.fixture
def fresh_legacy(default_url: str) -> Iterator[None]:
    """Forget any process-wide legacy layer before and after the test."""
    from persistence import set_persistence

    set_persistence(None)
    yield
    from persistence import get_persistence

    get_persistence().close()
    set_persistence(None)


def test_option_3_legacy_sync_interface(default_url: str, fresh_legacy: None) -> None:
    """The guide's sync snippet runs against the legacy path."""
    player_id = insert_player(default_url).player_id

    from persistence import get_persistence

    persistence = get_persistence()
    player = persistence.get_player(player_id)  # Still synchronous
    persistence.damage_player(player, 20, "combat")
    persistence.save_player(player)

    assert hp_of(default_url, player_id) == 80
