"""The models both paths return: plain dataclasses, equal when their data is equal."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = [
    "Container",
    "ItemInstance",
    "Player",
    "Profession",
    "Room",
    "RoomCache",
    "Stats",
    "User",
]


@dataclass(slots=True)
class Stats:
    """A player's ``stats`` JSONB: health, the six attributes, the mind, and position."""

    current_health: int = 100
    max_health: int = 100
    strength: int = 50
    dexterity: int = 50
    constitution: int = 50
    intelligence: int = 50
    wisdom: int = 50
    charisma: int = 50
    sanity: int = 100
    fear: int = 0
    corruption: int = 0
    occult_knowledge: int = 0
    position: str = "standing"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored in ``players.stats``."""
        return asdict(self)


@dataclass(slots=True)
class Player:
    """A player character. Mutable: health and XP writes update the object they are given."""

    player_id: UUID
    user_id: UUID
    name: str
    current_room_id: str
    profession_id: int = 0
    stats: Stats = field(default_factory=Stats)
    inventory: list[dict[str, Any]] = field(default_factory=list)
    equipped: dict[str, str] = field(default_factory=dict)
    experience_points: int = 0
    level: int = 1
    is_admin: bool = False
    created_at: datetime | None = None
    last_active: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for comparison and JSON."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class User:
    """An account; one account owns at most one player."""

    user_id: UUID
    username: str
    email: str
    password_hash: str
    is_active: bool = True
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Profession:
    """A profession a player may take; unavailable ones are hidden from the list."""

    profession_id: int
    name: str
    description: str = ""
    flavor_text: str = ""
    stat_requirements: dict[str, int] = field(default_factory=dict)
    is_available: bool = True


@dataclass(frozen=True, slots=True)
class Room:
    """A room, with its exits as ``{direction: target_room_id}``."""

    room_id: str
    zone_id: str
    name: str
    description: str = ""
    environment: str = "indoors"
    exits: dict[str, str] = field(default_factory=dict)


class RoomCache(dict[str, Room]):
    """Rooms by id, loaded once at start-up, plus each zone's start room."""

    def __init__(self) -> None:
        super().__init__()
        self.zone_start_rooms: dict[str, str] = {}
        self.loaded = False


@dataclass(slots=True)
class Container:
    """A container in a room, worn by an entity, or left as a corpse; ``items`` in slot order."""

    container_id: UUID
    source_type: str
    lock_state: str = "unlocked"
    capacity_slots: int = 20
    owner_id: UUID | None = None
    room_id: str | None = None
    entity_id: UUID | None = None
    weight_limit: Decimal | None = None
    decay_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for comparison and JSON."""
        return asdict(self)


@dataclass(slots=True)
class ItemInstance:
    """One item in the world, made from a prototype."""

    item_instance_id: str
    prototype_id: str
    owner_type: str = "none"
    owner_id: str | None = None
    location_context: str | None = None
    quantity: int = 1
    condition: int | None = None
    custom_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for comparison and JSON."""
        return asdict(self)
