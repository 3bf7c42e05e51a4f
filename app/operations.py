"""The MUD's persistence operations, declared once for the router, the sync facade and shadow.

Each operation of ``persistence.api.AsyncPersistence`` (and its ``SyncPersistence`` twin, named
per ``LEGACY_NAMES``) is listed with its domain, whether it writes, and the argument that holds
its entity key, so a percent rollout keeps each player, room, container or item on one path.
Calls without a single entity (lists, batches, a container created without an id) have no key
and are bucketed at random by the flag provider.

``readback`` names the read that returns what a write touched, given the write's key;
``mutates_arguments`` marks calls that update the ``Player`` they were given.
"""

from __future__ import annotations

from persistence.api import LEGACY_NAMES
from routing.registry import Kind, Operation, OperationRegistry

DOMAINS: tuple[str, ...] = (
    "player",
    "room",
    "profession",
    "health",
    "experience",
    "container",
    "item",
)

_PLAYER = "player.player_id"

# (domain, async name, kind, key, readback, mutates_arguments)
_TABLE: tuple[tuple[str, str, Kind, str | None, str | None, bool], ...] = (
    ("player", "get_player_by_id", "read", "player_id", None, False),
    ("player", "get_player_by_name", "read", "name", None, False),
    ("player", "get_player_by_user_id", "read", "user_id", None, False),
    ("player", "save_player", "write", _PLAYER, "get_player_by_id", False),
    ("player", "save_players", "write", None, None, False),
    ("player", "delete_player", "write", "player_id", "get_player_by_id", False),
    ("player", "list_players", "read", None, None, False),
    ("player", "get_players_in_room", "read", "room_id", None, False),
    ("player", "get_players_batch", "read", None, None, False),
    ("player", "update_player_last_active", "write", "player_id", "get_player_by_id", False),
    # reads the room cache and moves the player in memory only; the caller saves
    ("player", "validate_and_fix_player_room", "read", _PLAYER, None, True),
    ("room", "get_room_by_id", "read", "room_id", None, False),
    ("room", "list_rooms", "read", None, None, False),
    ("profession", "get_professions", "read", None, None, False),
    ("profession", "get_profession_by_id", "read", "profession_id", None, False),
    ("health", "damage_player", "write", _PLAYER, "get_player_by_id", True),
    ("health", "heal_player", "write", _PLAYER, "get_player_by_id", True),
    ("health", "update_player_health", "write", "player_id", "get_player_by_id", False),
    ("experience", "gain_experience", "write", _PLAYER, "get_player_by_id", True),
    ("experience", "update_player_xp", "write", "player_id", "get_player_by_id", False),
    ("experience", "update_player_stat_field", "write", "player_id", "get_player_by_id", False),
    ("container", "create_container", "write", "container_id", "get_container", False),
    ("container", "get_container", "read", "container_id", None, False),
    ("container", "get_containers_by_room_id", "read", "room_id", None, False),
    ("container", "get_containers_by_entity_id", "read", "entity_id", None, False),
    ("container", "update_container", "write", "container_id", "get_container", False),
    ("container", "get_decayed_containers", "read", None, None, False),
    ("container", "delete_container", "write", "container_id", "get_container", False),
    ("container", "add_item_to_container", "write", "container_id", "get_container", False),
    ("container", "remove_item_from_container", "write", "container_id", "get_container", False),
    ("item", "create_item_instance", "write", "item_instance_id", "get_item_instance", False),
    ("item", "ensure_item_instance", "write", "item_instance_id", "get_item_instance", False),
    ("item", "get_item_instance", "read", "item_instance_id", None, False),
    ("item", "item_instance_exists", "read", "item_instance_id", None, False),
    ("item", "delete_item_instance", "write", "item_instance_id", "get_item_instance", False),
    ("item", "list_item_instances_by_owner", "read", "owner_id", None, False),
)


def operations() -> list[Operation]:
    """Every persistence operation of the MUD, in declaration order."""
    return [
        Operation(
            domain,
            name,
            kind,
            key,
            legacy_name=LEGACY_NAMES.get(name, name),
            readback=readback,
            mutates_arguments=mutates,
        )
        for domain, name, kind, key, readback, mutates in _TABLE
    ]


def build_registry() -> OperationRegistry:
    """A fresh registry of every operation (the router owns it from then on)."""
    return OperationRegistry(operations())
