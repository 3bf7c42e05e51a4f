"""The game rules and input validation, written once and used by both paths.

See ``docs/game-rules.md`` for the rules in prose. Each path does its own I/O; everything that
decides *what* a write means lives here, so both paths agree by construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from persistence.errors import ValidationError
from persistence.events import (
    HPChanged,
    PlayerDied,
    PlayerLeveledUp,
    PlayerMortallyWounded,
    StatChanged,
    XPGained,
)
from persistence.models import Player, RoomCache, Stats

HP_DEAD = -10
MAX_NAME = 50
MAX_STACKS = 20
MAX_STACK_QUANTITY = 9999
XP_PER_LEVEL_UNIT = 100
LOCK_STATES = frozenset({"unlocked", "locked", "sealed"})
SOURCE_TYPES = frozenset({"environment", "equipment", "corpse"})
OWNER_TYPES = frozenset({"none", "player", "room", "container", "npc"})
POSITIONS = frozenset({"standing", "sitting", "lying"})
ATTRIBUTES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
# Whitelisted stat fields and their inclusive bounds: the only names that reach SQL.
STAT_BOUNDS: Mapping[str, tuple[int, int]] = {
    **{name: (1, 100) for name in ATTRIBUTES},
    "sanity": (0, 100),
    "fear": (0, 100),
    "corruption": (0, 100),
    "occult_knowledge": (0, 100),
}
STACK_KEYS = frozenset({"prototype_id", "quantity", "item_instance_id"})
MAX_JSON_DEPTH = 32


# --- numbers -------------------------------------------------------------------------------


def require_int(value: object, what: str) -> int:
    """``value`` as an int; bools, floats, strings and None are rejected."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be an integer, got {type(value).__name__}")
    return value


def require_amount(value: object, what: str = "amount") -> int:
    """A non-negative integer amount of damage, healing or experience."""
    amount = require_int(value, what)
    if amount < 0:
        raise ValidationError(f"{what} must not be negative, got {amount}")
    return amount


def read_key(value: object, what: str) -> str:
    """A key to look up: any storable string (an unknown one simply matches nothing).

    PostgreSQL stores UTF-8 text without NUL: a string holding NUL or a lone surrogate is bad
    input on both paths, rejected here before any SQL.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise ValidationError(f"{what} must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(f"{what} is not valid Unicode text: {exc.reason}") from exc
    return value


def require_text(value: object, what: str, *, max_length: int = 200) -> str:
    """A storable string (see ``read_key``) of at most ``max_length`` characters."""
    text = read_key(value, what)
    if len(text) > max_length:
        raise ValidationError(f"{what} is longer than {max_length} characters")
    return text


def require_uuid(value: object, what: str = "id") -> UUID:
    """``value`` as a UUID; a malformed string or another type is rejected."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise ValidationError(f"{what} is not a valid UUID: {value!r}")


def require_datetime(value: object, what: str) -> datetime:
    """An aware datetime; a naive one is taken as UTC, whatever the database's time zone."""
    if not isinstance(value, datetime):
        raise ValidationError(f"{what} must be a datetime, got {type(value).__name__}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def optional_datetime(value: object, what: str) -> datetime | None:
    """None, or ``require_datetime(value)``."""
    return None if value is None else require_datetime(value, what)


def require_key(value: object, what: str, *, max_length: int = 100) -> str:
    """A non-empty identifier string such as a room id or an item instance id."""
    text = require_text(value, what, max_length=max_length)
    if not text.strip():
        raise ValidationError(f"{what} must not be empty")
    return text


# --- health --------------------------------------------------------------------------------


def health_events(
    player_id: UUID, old: int, new: int, max_hp: int, damage_type: str | None, reason: str
) -> list[object]:
    """The events one health change publishes: HPChanged, then dying or death if crossed."""
    if old == new:
        return []
    events: list[object] = [HPChanged(player_id, old, new, max_hp, new - old, damage_type, reason)]
    if new <= HP_DEAD < old:
        events.append(PlayerDied(player_id, new, damage_type))
    elif HP_DEAD < new <= 0 < old:
        events.append(PlayerMortallyWounded(player_id, new))
    return events


# --- experience ----------------------------------------------------------------------------


def level_for_xp(xp: int) -> int:
    """Level 1 at 0 XP; level n needs 100·(n-1)² XP."""
    return 1 + math.isqrt(max(0, xp) // XP_PER_LEVEL_UNIT)


def xp_events(
    player_id: UUID, old_xp: int, new_xp: int, old_level: int, new_level: int, source: str
) -> list[object]:
    """The events one XP change publishes: XPGained, then PlayerLeveledUp if the level moved."""
    if old_xp == new_xp:
        return []
    events: list[object] = [XPGained(player_id, new_xp - old_xp, new_xp, new_level, source)]
    if new_level != old_level:
        events.append(PlayerLeveledUp(player_id, old_level, new_level))
    return events


def require_stat_field(field_name: object) -> str:
    """A whitelisted stat field name; anything else, injection attempts included, is rejected."""
    if not isinstance(field_name, str) or field_name not in STAT_BOUNDS:
        raise ValidationError(
            f"unknown stat field {field_name!r}; allowed: {', '.join(sorted(STAT_BOUNDS))}"
        )
    return field_name


def stat_events(player_id: UUID, field_name: str, old: int, new: int, reason: str) -> list[object]:
    """The event a stat change publishes, if the value moved."""
    return [] if old == new else [StatChanged(player_id, field_name, old, new, reason)]


# --- players -------------------------------------------------------------------------------


def validate_player(player: object) -> Player:
    """Check every field of a player before it is saved.

    Its JSONB fields (stats, inventory, equipped) are checked field by field, more strictly
    than ``require_json``; ``last_active`` must be None or a datetime (naive means UTC).
    """
    if not isinstance(player, Player):
        raise ValidationError(f"expected a Player, got {type(player).__name__}")
    require_uuid(player.player_id, "player_id")
    require_uuid(player.user_id, "user_id")
    validate_name(player.name)
    require_key(player.current_room_id, "current_room_id")
    require_int(player.profession_id, "profession_id")
    validate_stats(player.stats)
    validate_inventory(player.inventory)
    validate_equipped(player.equipped)
    if require_int(player.experience_points, "experience_points") < 0:
        raise ValidationError("experience_points must not be negative")
    if require_int(player.level, "level") < 1:
        raise ValidationError("level must be at least 1")
    optional_datetime(player.last_active, "last_active")
    return player


def validate_name(name: object) -> str:
    """A player name: 1 to 50 characters, not blank."""
    text = require_text(name, "name", max_length=MAX_NAME)
    if not text.strip():
        raise ValidationError("name must not be blank")
    return text


def validate_stats(stats: object) -> Stats:
    """Every stat is an int within bounds, HP within [-10, max], and a known position."""
    if not isinstance(stats, Stats):
        raise ValidationError(f"stats must be Stats, got {type(stats).__name__}")
    max_hp = require_int(stats.max_health, "max_health")
    if max_hp < 1:
        raise ValidationError("max_health must be at least 1")
    hp = require_int(stats.current_health, "current_health")
    if not HP_DEAD <= hp <= max_hp:
        raise ValidationError(f"current_health must be within [{HP_DEAD}, {max_hp}], got {hp}")
    for name, (low, high) in STAT_BOUNDS.items():
        value = require_int(getattr(stats, name), name)
        if not low <= value <= high:
            raise ValidationError(f"{name} must be within [{low}, {high}], got {value}")
    if stats.position not in POSITIONS:
        raise ValidationError(f"position must be one of {sorted(POSITIONS)}")
    return stats


def validate_inventory(inventory: object) -> list[dict[str, Any]]:
    """At most 20 stacks, each ``{prototype_id, quantity[, item_instance_id]}``."""
    if not isinstance(inventory, list):
        raise ValidationError("inventory must be a list of stacks")
    if len(inventory) > MAX_STACKS:
        raise ValidationError(f"inventory holds at most {MAX_STACKS} stacks, got {len(inventory)}")
    for index, stack in enumerate(inventory):
        _validate_stack(index, stack)
    return inventory


def _validate_stack(index: int, stack: object) -> None:
    if not isinstance(stack, dict) or not set(stack) <= STACK_KEYS or "prototype_id" not in stack:
        raise ValidationError(f"inventory stack {index} is malformed: {stack!r}")
    require_key(stack["prototype_id"], f"inventory stack {index} prototype_id")
    quantity = require_int(stack.get("quantity", 1), f"inventory stack {index} quantity")
    if not 1 <= quantity <= MAX_STACK_QUANTITY:
        raise ValidationError(f"inventory stack {index} quantity must be 1..{MAX_STACK_QUANTITY}")
    if "item_instance_id" in stack and stack["item_instance_id"] is not None:
        require_key(stack["item_instance_id"], f"inventory stack {index} item_instance_id")


def validate_equipped(equipped: object) -> dict[str, str]:
    """Equipped items as ``{slot: item_instance_id}``."""
    if not isinstance(equipped, dict):
        raise ValidationError("equipped must be a mapping of slot to item instance id")
    for slot, item in equipped.items():
        require_key(slot, "equipped slot", max_length=32)
        require_key(item, f"equipped item in {slot}")
    return equipped


def fallback_room(room_id: str, cache: RoomCache) -> str | None:
    """Where a player in ``room_id`` belongs: None if the room exists, else a start room.

    The start room of the zone the id names (``<zone>_…``) wins; otherwise the start room of
    the first zone by id; otherwise the first room by id.
    """
    if room_id in cache:
        return None
    zones = cache.zone_start_rooms
    for zone_id in sorted(zones, key=len, reverse=True):
        if room_id.startswith(zone_id + "_") and zones[zone_id] in cache:
            return zones[zone_id]
    for zone_id in sorted(zones):
        if zones[zone_id] in cache:
            return zones[zone_id]
    return min(cache) if cache else None


# --- containers and items ------------------------------------------------------------------


def require_choice(value: object, allowed: frozenset[str], what: str) -> str:
    """One of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"unknown {what} {value!r}; allowed: {', '.join(sorted(allowed))}")
    return value


def require_capacity(value: object) -> int:
    """A container capacity between 1 and 20 slots."""
    capacity = require_int(value, "capacity_slots")
    if not 1 <= capacity <= MAX_STACKS:
        raise ValidationError(f"capacity_slots must be within 1..{MAX_STACKS}, got {capacity}")
    return capacity


def require_mapping(value: object, what: str) -> dict[str, Any]:
    """A ``dict`` with string keys (its values are not checked; see ``require_json_object``)."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValidationError(f"{what} must be a mapping with string keys")
    return value


def require_json_object(value: object, what: str) -> dict[str, Any]:
    """A JSON object that ``jsonb`` stores as given; the check of every JSONB input."""
    mapping = require_mapping(value, what)
    require_json(mapping, what)
    return mapping


def require_json(value: object, what: str, *, depth: int = 0) -> object:
    """A JSON value: objects with string keys, lists, storable strings, finite numbers, bools
    and None, nested at most ``MAX_JSON_DEPTH`` deep. Anything else (a set, NaN, a string
    holding NUL, a non-string key) the driver or the database would refuse or change.
    """
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            _require_json_key(key, what)
            require_json(item, what, depth=depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            require_json(item, what, depth=depth + 1)
    elif isinstance(value, str):
        read_key(value, what)
    elif not _is_json_scalar(value):
        raise ValidationError(f"{what} is not JSON-serialisable: {value!r}")
    return value


def _require_json_key(key: object, what: str) -> None:
    if not isinstance(key, str):
        raise ValidationError(f"{what} is not JSON-serialisable: key {key!r} is not a string")
    read_key(key, what)


def _is_json_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, bool | int)


def require_ids(values: object, what: str) -> list[UUID]:
    """A sequence of UUIDs (not a bare string)."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValidationError(f"{what} must be a list of UUIDs")
    return [require_uuid(v, what) for v in values]
