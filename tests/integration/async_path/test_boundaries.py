"""The async path's edges: configuration read at first use, validation before SQL, errors."""

from __future__ import annotations

import asyncpg
import pytest

from persistence.async_db import AsyncDatabase, statement
from persistence.async_layer import AsyncPersistenceLayer
from persistence.errors import DatabaseError, ValidationError
from persistence.repositories import HealthRepository
from tests.database import socket_url
from tests.integration.async_path.conftest import PlayerFactory

pytestmark = pytest.mark.integration

NOWHERE = "postgresql://postgres@127.0.0.1:1/nowhere"


class TestConfiguration:
    """Nothing reads DATABASE_URL or connects before the first call."""

    async def test_missing_database_url_fails_at_first_use_not_before(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        layer = AsyncPersistenceLayer()
        repo = HealthRepository()
        with pytest.raises(RuntimeError, match="DATABASE_URL"):
            await layer.get_professions()
        with pytest.raises(RuntimeError, match="DATABASE_URL"):
            await repo.update_player_health("00000000-0000-4000-8000-000000000001", 1)

    async def test_socket_urls_reach_the_server(self, world: str) -> None:
        database = AsyncDatabase(socket_url(world))
        layer = AsyncPersistenceLayer()
        layer._database = database
        assert [p.profession_id for p in await layer.get_professions()] == [0, 1]
        await database.close()


class TestValidationComesFirst:
    """Bad input is refused before any SQL, even when the database is unreachable."""

    @pytest.fixture
    async def unreachable(self) -> AsyncPersistenceLayer:
        return AsyncPersistenceLayer(database_url=NOWHERE)

    async def test_bad_input_is_a_validation_error(
        self, unreachable: AsyncPersistenceLayer, make_player: PlayerFactory
    ) -> None:
        player = await make_player()
        with pytest.raises(ValidationError):
            await unreachable.damage_player(player, -1)
        with pytest.raises(ValidationError):
            await unreachable.update_player_stat_field(player.player_id, "sanity'); --", 1)
        with pytest.raises(ValidationError):
            await unreachable.get_player_by_id("not-a-uuid")

    async def test_good_input_meets_the_database_error(
        self, unreachable: AsyncPersistenceLayer, make_player: PlayerFactory
    ) -> None:
        player = await make_player()
        with pytest.raises(DatabaseError) as raised:
            await unreachable.damage_player(player, 1)
        assert isinstance(raised.value.__cause__, OSError)


class TestTranslation:
    """Driver errors become persistence errors at one boundary, chained to the original."""

    async def test_a_taken_name_is_a_validation_error_from_asyncpg(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory
    ) -> None:
        await make_player("Wilbur")
        other = await make_player("Lavinia")
        other.name = "WILBUR"
        with pytest.raises(ValidationError, match="already exists") as raised:
            await layer.save_player(other)
        assert isinstance(raised.value.__cause__, asyncpg.UniqueViolationError)

    def test_statements_pin_their_parameter_order(self) -> None:
        compiled = statement("SELECT CAST(:b AS int) + :a + :b", "b", "a")
        assert compiled.sql == "SELECT CAST($1 AS int) + $2 + $1"
        with pytest.raises(ValueError, match="parameters"):
            statement("SELECT :b + :a", "a", "b")

    def test_a_cast_glued_to_a_parameter_is_caught(self) -> None:
        with pytest.raises(ValueError, match="parameters"):
            statement("SELECT :b::int", "b")


def test_the_public_names_are_pinned() -> None:
    """The package exports exactly the seven repositories the guide names."""
    import persistence.repositories as repositories

    assert repositories.__all__ == [
        "ContainerRepository",
        "ExperienceRepository",
        "HealthRepository",
        "ItemRepository",
        "PlayerRepository",
        "ProfessionRepository",
        "RoomRepository",
    ]
