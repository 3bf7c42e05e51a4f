"""The MUD's persistence operations, declared once for the router, the sync facade and shadow.

Each operation of ``persistence.api.AsyncPersistence`` (and its ``SyncPersistence`` twin, named
per ``LEGACY_NAMES``) is listed with its domain, whether it writes, and the argument that holds
its entity key, so a percent rollout keeps each player, room, container or item on one path.
Calls without a single entity (lists, batches, a container created without an id) have no key
and are bucketed at random by the flag provider.

``readback`` names the read that returns what a write touched, given the write's key;
``mutates_arguments`` marks calls that update the ``Player`` they were given (and
``save_player``, whose object the shadow must not share with the primary);
``ignore_fields`` lists result fields set by the database clock (``now()``), which two paths
writing in two transactions never agree on. No list is ``unordered``: the contract orders
every list (``persistence.api``), so order is compared too.

``shadow_writes()`` tells the shadow runner which rows each read-back name stands for, so a
shadowed write can capture them before the primary writes, restore them in the shadow's
rolled-back transaction, and compare the rows both paths left (``routing.shadowing``).
"""

from __future__ import annotations

import uuid
from typing import Any

from persistence.api import LEGACY_NAMES
from persistence.errors import UnitOfWorkAlreadyOpen
from routing.registry import Kind, Operation, OperationRegistry
from routing.shadowing import Entity, RowGroup, ShadowWrites

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
    ("player", "save_player", "write", _PLAYER, "get_player_by_id", True),
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


_CLOCK_STAMPED = frozenset({"created_at", "updated_at"})
# Result (and stored-row) fields filled by now() in the writing transaction.
_IGNORE: dict[str, frozenset[str]] = {
    "save_player": frozenset({"last_active"}),  # now() when the object has none
    "save_players": frozenset({"last_active"}),
    "update_player_last_active": frozenset({"last_active"}),  # now() when not given
    "create_container": _CLOCK_STAMPED,
    "update_container": _CLOCK_STAMPED,
    "add_item_to_container": _CLOCK_STAMPED,
    "remove_item_from_container": _CLOCK_STAMPED,
    "create_item_instance": frozenset({"created_at"}),
    "ensure_item_instance": frozenset({"created_at"}),
}
_UNORDERED: frozenset[str] = frozenset()


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
            unordered=name in _UNORDERED,
            ignore_fields=_IGNORE.get(name, frozenset()),
        )
        for domain, name, kind, key, readback, mutates in _TABLE
    ]


def build_registry() -> OperationRegistry:
    """A fresh registry of every operation (the router owns it from then on)."""
    return OperationRegistry(operations())


_CONTENTS = ("container_id", "item_instance_id")
_CREATED = frozenset({"created_at"})
_ADDED = frozenset({"added_at"})

#: The kinds of entity each domain's calls read or write (rooms and professions: none).
KINDS: dict[str, tuple[str, ...]] = {
    "player": ("player",),
    "health": ("player",),
    "experience": ("player",),
    "container": ("container", "item"),
    "item": ("item", "container"),
}

#: The rows each read-back name stands for, keyed by the write's entity key (as text).
ENTITIES: dict[str, Entity] = {
    "get_player_by_id": Entity(
        "player", (RowGroup("players", ("player_id",), "player_id = {key}::uuid", _CREATED),)
    ),
    "get_container": Entity(
        "container",
        (
            RowGroup("containers", ("container_id",), "container_id = {key}::uuid", _CLOCK_STAMPED),
            RowGroup("container_contents", _CONTENTS, "container_id = {key}::uuid", _ADDED),
        ),
    ),
    "get_item_instance": Entity(
        "item",
        (
            RowGroup("item_instances", ("item_instance_id",), "item_instance_id = {key}", _CREATED),
            RowGroup("container_contents", _CONTENTS, "item_instance_id = {key}", _ADDED),
        ),
    ),
}


def _same_new_container_id(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A container created without an id gets one here, so both paths create the same one."""
    if kwargs.get("container_id") is None:
        kwargs = {**kwargs, "container_id": str(uuid.uuid4())}
    return args, kwargs


def shadow_writes() -> ShadowWrites:
    """What the shadow runner needs to capture, restore and compare the MUD's writes."""
    item = (("get_item_instance", "item_instance_id"),)
    return ShadowWrites(
        entities=ENTITIES,
        touches={"add_item_to_container": item, "remove_item_from_container": item},
        prepare={"create_container": _same_new_container_id},
        kinds=KINDS,
        read_entities={
            "get_player_by_id": "player",
            "get_container": "container",
            "get_item_instance": "item",
            "item_instance_exists": "item",
        },
        already_open=(UnitOfWorkAlreadyOpen,),
    )
