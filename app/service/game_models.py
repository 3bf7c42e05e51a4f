"""Request and response bodies of the game API.

Responses are read from the persistence models (``from_attributes``). Requests carry the
same limits as ``persistence.rules`` so that bad input is refused with a 422 naming the field
before any call is routed; the rules still check everything again on both paths.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from persistence.rules import MAX_NAME


def key() -> Any:
    """An identifier: a room id, an item instance id, a prototype id."""
    return Field(min_length=1, max_length=100)


class Model(BaseModel):
    """Base of every body: unknown fields are refused, attributes may be read from objects."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")


class StatsBody(Model):
    """A player's stats."""

    current_health: int = 100
    max_health: int = Field(default=100, ge=1)
    strength: int = Field(default=50, ge=1, le=100)
    dexterity: int = Field(default=50, ge=1, le=100)
    constitution: int = Field(default=50, ge=1, le=100)
    intelligence: int = Field(default=50, ge=1, le=100)
    wisdom: int = Field(default=50, ge=1, le=100)
    charisma: int = Field(default=50, ge=1, le=100)
    sanity: int = Field(default=100, ge=0, le=100)
    fear: int = Field(default=0, ge=0, le=100)
    corruption: int = Field(default=0, ge=0, le=100)
    occult_knowledge: int = Field(default=0, ge=0, le=100)
    position: Literal["standing", "sitting", "lying"] = "standing"


class PlayerBody(Model):
    """A player as stored."""

    player_id: UUID
    user_id: UUID
    name: str = Field(min_length=1, max_length=MAX_NAME)
    current_room_id: str = key()
    profession_id: int = Field(default=0, ge=0)
    stats: StatsBody = Field(default_factory=StatsBody)
    inventory: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    equipped: dict[str, str] = Field(default_factory=dict)
    experience_points: int = Field(default=0, ge=0)
    level: int = Field(default=1, ge=1)
    is_admin: bool = False
    created_at: datetime | None = None
    last_active: datetime | None = None


class NewPlayer(Model):
    """What creating a player takes; the service creates the account that owns it."""

    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=r"\S")
    current_room_id: str = key()
    profession_id: int = Field(default=0, ge=0)
    stats: StatsBody = Field(default_factory=StatsBody)


class Damage(Model):
    """Damage to deal: a non-negative amount and its type."""

    amount: int = Field(ge=0, le=1_000_000)
    damage_type: str = Field(default="physical", min_length=1, max_length=50)


class Heal(Model):
    """Healing: a non-negative amount."""

    amount: int = Field(ge=0, le=1_000_000)


class Experience(Model):
    """Experience to grant: a non-negative amount and where it came from."""

    amount: int = Field(ge=0, le=1_000_000)
    source: str = Field(default="api", min_length=1, max_length=100)


class StatChange(Model):
    """A change to one whitelisted stat field."""

    delta: int = Field(ge=-1000, le=1000)
    reason: str = Field(default="", max_length=200)


class Health(Model):
    """A player's health after a write."""

    player_id: UUID
    current_health: int


class XP(Model):
    """A player's experience after a write."""

    player_id: UUID
    experience_points: int


class StatValue(Model):
    """A stat's value after a write."""

    player_id: UUID
    field: str
    value: int


class RoomBody(Model):
    """A room and its exits."""

    room_id: str
    zone_id: str
    name: str
    description: str = ""
    environment: str = "indoors"
    exits: dict[str, str] = Field(default_factory=dict)


class ProfessionBody(Model):
    """A profession."""

    profession_id: int
    name: str
    description: str = ""
    flavor_text: str = ""
    stat_requirements: dict[str, int] = Field(default_factory=dict)
    is_available: bool = True


class ContainerBody(Model):
    """A container and the item instance ids it holds, in slot order."""

    container_id: UUID
    source_type: str
    lock_state: str
    capacity_slots: int
    owner_id: UUID | None = None
    room_id: str | None = None
    entity_id: UUID | None = None
    weight_limit: Decimal | None = None
    decay_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    items: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class NewContainer(Model):
    """What creating a container takes."""

    source_type: Literal["environment", "equipment", "corpse"]
    room_id: str | None = Field(default=None, min_length=1, max_length=100)
    entity_id: UUID | None = None
    owner_id: UUID | None = None
    lock_state: Literal["unlocked", "locked", "sealed"] = "unlocked"
    capacity_slots: int = Field(default=20, ge=1, le=20)
    weight_limit: Decimal | None = Field(default=None, gt=0, max_digits=8, decimal_places=2)
    decay_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ContainerPatch(Model):
    """The container fields that may change."""

    lock_state: Literal["unlocked", "locked", "sealed"] | None = None
    capacity_slots: int | None = Field(default=None, ge=1, le=20)
    decay_at: datetime | None = None
    metadata: dict[str, Any] | None = None


class ItemRef(Model):
    """An item instance to put in a container."""

    item_instance_id: str = key()


class ItemBody(Model):
    """An item instance."""

    item_instance_id: str
    prototype_id: str
    owner_type: str = "none"
    owner_id: str | None = None
    location_context: str | None = None
    quantity: int = 1
    condition: int | None = None
    custom_name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class NewItem(Model):
    """What creating an item instance takes."""

    item_instance_id: str = key()
    prototype_id: str = key()
    owner_type: Literal["none", "player", "room", "container", "npc"] = "none"
    owner_id: str | None = Field(default=None, min_length=1, max_length=100)
    location_context: str | None = Field(default=None, max_length=100)
    quantity: int = Field(default=1, ge=1, le=9999)
    condition: int | None = Field(default=None, ge=0, le=100)
    custom_name: str | None = Field(default=None, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)
