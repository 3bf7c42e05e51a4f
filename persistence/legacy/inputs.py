"""Checked inputs for the legacy path's container and item writes, built from ``rules``.

Each ``check_*`` function validates everything a write needs before any SQL runs, and returns
a frozen value object holding the normalised parameters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from persistence import rules
from persistence.errors import ValidationError

__all__ = [
    "ContainerChanges",
    "NewContainer",
    "NewItem",
    "check_container_changes",
    "check_new_container",
    "check_new_item",
    "optional_datetime",
    "optional_uuid",
    "read_key",
    "require_limit",
]

MAX_ITEM_TEXT = 100
# The shared checks, under the names this path has always used.
read_key = rules.read_key
optional_datetime = rules.optional_datetime


@dataclass(frozen=True, slots=True)
class NewContainer:
    """The checked columns of a container to insert."""

    container_id: UUID
    source_type: str
    room_id: str | None
    entity_id: UUID | None
    owner_id: UUID | None
    lock_state: str
    capacity_slots: int
    weight_limit: Decimal | None
    decay_at: datetime | None
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ContainerChanges:
    """The checked columns of a container update; None means unchanged."""

    lock_state: str | None
    capacity_slots: int | None
    decay_at: datetime | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class NewItem:
    """The checked columns of an item instance to insert."""

    item_instance_id: str
    prototype_id: str
    owner_type: str
    owner_id: str | None
    location_context: str | None
    quantity: int
    condition: int | None
    custom_name: str | None
    metadata: dict[str, Any]


def require_limit(value: object, what: str) -> int:
    """A non-negative page size or offset."""
    number = rules.require_int(value, what)
    if number < 0:
        raise ValidationError(f"{what} must not be negative, got {number}")
    return number


def optional_uuid(value: object, what: str) -> UUID | None:
    """None, or a valid UUID."""
    return None if value is None else rules.require_uuid(value, what)


def optional_text(value: object, what: str, max_length: int = MAX_ITEM_TEXT) -> str | None:
    """None, or a string of at most ``max_length`` characters."""
    return None if value is None else rules.require_text(value, what, max_length=max_length)


def optional_weight(value: object) -> Decimal | None:
    """None, or a positive decimal weight limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValidationError(f"weight_limit must be a Decimal, got {type(value).__name__}")
    try:
        weight = Decimal(value)
        valid = weight.is_finite() and Decimal(0) < weight < Decimal(1_000_000)
    except InvalidOperation:
        valid = False
    if not valid:
        raise ValidationError(f"weight_limit must be positive and below 1000000, got {value}")
    return weight


def check_new_container(
    source_type: object,
    *,
    room_id: object = None,
    entity_id: object = None,
    owner_id: object = None,
    lock_state: object = "unlocked",
    capacity_slots: object = 20,
    weight_limit: object = None,
    decay_at: object = None,
    metadata: object = None,
    container_id: object = None,
) -> NewContainer:
    """Validate ``create_container``'s arguments."""
    source = rules.require_choice(source_type, rules.SOURCE_TYPES, "source_type")
    room = None if room_id is None else rules.require_key(room_id, "room_id")
    entity = optional_uuid(entity_id, "entity_id")
    if source == "environment" and room is None:
        raise ValidationError("an environment container needs a room_id")
    if source == "equipment" and entity is None:
        raise ValidationError("an equipment container needs an entity_id")
    return NewContainer(
        container_id=optional_uuid(container_id, "container_id") or uuid.uuid4(),
        source_type=source,
        room_id=room,
        entity_id=entity,
        owner_id=optional_uuid(owner_id, "owner_id"),
        lock_state=rules.require_choice(lock_state, rules.LOCK_STATES, "lock_state"),
        capacity_slots=rules.require_capacity(capacity_slots),
        weight_limit=optional_weight(weight_limit),
        decay_at=optional_datetime(decay_at, "decay_at"),
        metadata=dict(rules.require_json_object({} if metadata is None else metadata, "metadata")),
    )


def check_container_changes(
    *,
    lock_state: object = None,
    capacity_slots: object = None,
    decay_at: object = None,
    metadata: object = None,
) -> ContainerChanges:
    """Validate ``update_container``'s arguments."""
    return ContainerChanges(
        lock_state=None
        if lock_state is None
        else rules.require_choice(lock_state, rules.LOCK_STATES, "lock_state"),
        capacity_slots=None if capacity_slots is None else rules.require_capacity(capacity_slots),
        decay_at=optional_datetime(decay_at, "decay_at"),
        metadata=None
        if metadata is None
        else dict(rules.require_json_object(metadata, "metadata")),
    )


def check_new_item(
    item_instance_id: object,
    prototype_id: object,
    *,
    owner_type: object = "none",
    owner_id: object = None,
    location_context: object = None,
    quantity: object = 1,
    condition: object = None,
    custom_name: object = None,
    metadata: object = None,
) -> NewItem:
    """Validate ``create_item_instance``'s and ``ensure_item_instance``'s arguments."""
    owner = rules.require_choice(owner_type, rules.OWNER_TYPES, "owner_type")
    return NewItem(
        item_instance_id=rules.require_key(item_instance_id, "item_instance_id"),
        prototype_id=rules.require_key(prototype_id, "prototype_id"),
        owner_type=owner,
        owner_id=_check_owner_id(owner, owner_id),
        location_context=optional_text(location_context, "location_context"),
        quantity=_check_quantity(quantity),
        condition=_check_condition(condition),
        custom_name=optional_text(custom_name, "custom_name"),
        metadata=dict(rules.require_json_object({} if metadata is None else metadata, "metadata")),
    )


def _check_owner_id(owner_type: str, owner_id: object) -> str | None:
    if owner_type == "none":
        if owner_id is not None:
            raise ValidationError("an item with owner_type 'none' cannot have an owner_id")
        return None
    if owner_id is None:
        raise ValidationError(f"an item with owner_type {owner_type!r} needs an owner_id")
    return rules.require_key(str(owner_id) if isinstance(owner_id, UUID) else owner_id, "owner_id")


def _check_quantity(value: object) -> int:
    quantity = rules.require_int(value, "quantity")
    if not 1 <= quantity <= rules.MAX_STACK_QUANTITY:
        raise ValidationError(f"quantity must be within 1..{rules.MAX_STACK_QUANTITY}")
    return quantity


def _check_condition(value: object) -> int | None:
    if value is None:
        return None
    condition = rules.require_int(value, "condition")
    if not 0 <= condition <= 100:
        raise ValidationError(f"condition must be within 0..100, got {condition}")
    return condition
