"""The async repositories, one per domain, truly async over asyncpg.

Each takes an optional ``database=`` (an ``AsyncDatabase``); without one it uses the process
default database, built at first use from ``DATABASE_URL``. Repositories sharing a database
join the unit of work open on it in the current context (see ``persistence.async_db``).
"""

from __future__ import annotations

from persistence.repositories.container_repository import ContainerRepository
from persistence.repositories.experience_repository import ExperienceRepository
from persistence.repositories.health_repository import HealthRepository
from persistence.repositories.item_repository import ItemRepository
from persistence.repositories.player_repository import PlayerRepository
from persistence.repositories.profession_repository import ProfessionRepository
from persistence.repositories.room_repository import RoomRepository

__all__ = [
    "ContainerRepository",
    "ExperienceRepository",
    "HealthRepository",
    "ItemRepository",
    "PlayerRepository",
    "ProfessionRepository",
    "RoomRepository",
]
