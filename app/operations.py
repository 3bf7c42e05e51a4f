"""The MUD's persistence operations: one declaration each, for the router, the facade and shadow.

Each method of ``persistence.api.AsyncPersistence`` (and of its ``SyncPersistence`` twin) has
one :func:`declare` row below: its domain, whether it reads or writes, the argument that holds
its entity key, its legacy name when it differs, and what the shadow runner needs to compare
it: the read that returns what a write touched (``readback``) and the rows that stands for
(``rows``), further rows the write touches (``touches``), and whether the call updates the
object it was given (``mutates``). None lists the columns the database clock stamps (``clock``,
a row's ``volatile``): calibration finds them.
Everything else (the registry, ``LEGACY_NAMES``, what the shadow runner captures) is derived
from these rows. ``docs/adding-an-operation.md`` walks through adding one.

Calls without a single entity (lists, batches, a container created without an id) have no key
and are bucketed at random by the flag provider. No list is unordered: the contract orders
every list (``persistence.api``), so order is compared too.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from persistence.errors import (
    DatabaseError,
    NotFoundError,
    UnitOfWorkAlreadyOpen,
    ValidationError,
)
from routing.declarations import Declaration, Declarations, declare
from routing.registry import Operation, OperationRegistry
from routing.shadowing import Entity, RowGroup, ShadowWrites
from shadow.errors import ErrorMeanings

__all__ = [
    "DECLARATIONS",
    "DOMAINS",
    "DOMAIN_ENTITY_KINDS",
    "LEGACY_NAMES",
    "MUD",
    "Declaration",
    "build_registry",
    "declare",
    "operations",
    "shadow_writes",
]

DOMAINS: tuple[str, ...] = (
    "player",
    "room",
    "profession",
    "health",
    "experience",
    "container",
    "item",
)

#: The kinds of entity each domain's calls read or write (rooms and professions: none), so a
#: read is not compared across a write of another domain to the same rows.
DOMAIN_ENTITY_KINDS: dict[str, tuple[str, ...]] = {
    "player": ("player",),
    "health": ("player",),
    "experience": ("player",),
    "container": ("container", "item"),
    "item": ("item", "container"),
}

# No column is listed as stamped by the database clock (``now()``): A/A calibration finds each
# of them by itself (tests/integration/shadow_runner/test_noise_derived.py, docs/shadowing.md).
_CONTENTS = ("container_id", "item_instance_id")

#: The rows each entity kind stands for, keyed by the entity key (as text).
PLAYER = Entity("player", (RowGroup("players", ("player_id",), "player_id = {key}::uuid"),))
CONTAINER = Entity(
    "container",
    (
        RowGroup("containers", ("container_id",), "container_id = {key}::uuid"),
        RowGroup("container_contents", _CONTENTS, "container_id = {key}::uuid"),
    ),
)
ITEM = Entity(
    "item",
    (
        RowGroup("item_instances", ("item_instance_id",), "item_instance_id = {key}"),
        RowGroup("container_contents", _CONTENTS, "item_instance_id = {key}"),
    ),
)


def _same_new_container_id(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A container created without an id gets one here, so both paths create the same one."""
    if kwargs.get("container_id") is None:
        kwargs = {**kwargs, "container_id": str(uuid.uuid4())}
    return args, kwargs


_P = "player.player_id"
_ON_PLAYER: dict[str, Any] = {"readback": "get_player_by_id", "rows": PLAYER}
_ON_CONTAINER: dict[str, Any] = {"readback": "get_container", "rows": CONTAINER}
_ON_ITEM: dict[str, Any] = {"readback": "get_item_instance", "rows": ITEM}
#: A container write that moves an item touches the item's rows too (after the container's).
_MOVES_ITEM: dict[str, Any] = {
    "touches": (("get_item_instance", "item_instance_id"),),
    "extra_rows": {"get_item_instance": ITEM},
}

DECLARATIONS: tuple[Declaration, ...] = (
    declare("player", "get_player_by_id", "read", "player_id", legacy_name="get_player",
            entity="player"),
    declare("player", "get_player_by_name", "read", "name"),
    declare("player", "get_player_by_user_id", "read", "user_id"),
    declare("player", "save_player", "write", _P, **_ON_PLAYER, mutates=True),
    declare("player", "save_players", "write"),
    declare("player", "delete_player", "write", "player_id", **_ON_PLAYER),
    declare("player", "list_players", "read"),
    declare("player", "get_players_in_room", "read", "room_id"),
    declare("player", "get_players_batch", "read"),
    declare("player", "update_player_last_active", "write", "player_id", **_ON_PLAYER),
    # reads the room cache and moves the player in memory only; the caller saves
    declare("player", "validate_and_fix_player_room", "read", _P, mutates=True),
    declare("room", "get_room_by_id", "read", "room_id", legacy_name="get_room"),
    declare("room", "list_rooms", "read"),
    declare("profession", "get_professions", "read", legacy_name="get_all_professions"),
    declare("profession", "get_profession_by_id", "read", "profession_id"),
    declare("health", "damage_player", "write", _P, **_ON_PLAYER, mutates=True),
    declare("health", "heal_player", "write", _P, **_ON_PLAYER, mutates=True),
    declare("health", "update_player_health", "write", "player_id", **_ON_PLAYER),
    declare("experience", "gain_experience", "write", _P, **_ON_PLAYER, mutates=True),
    declare("experience", "update_player_xp", "write", "player_id", **_ON_PLAYER),
    declare("experience", "update_player_stat_field", "write", "player_id", **_ON_PLAYER),
    declare("container", "create_container", "write", "container_id", **_ON_CONTAINER,
            prepare=_same_new_container_id),
    declare("container", "get_container", "read", "container_id", entity="container"),
    declare("container", "get_containers_by_room_id", "read", "room_id"),
    declare("container", "get_containers_by_entity_id", "read", "entity_id"),
    declare("container", "update_container", "write", "container_id", **_ON_CONTAINER),
    declare("container", "get_decayed_containers", "read"),
    declare("container", "delete_container", "write", "container_id", **_ON_CONTAINER),
    declare("container", "add_item_to_container", "write", "container_id", **_ON_CONTAINER,
            **_MOVES_ITEM),
    declare("container", "remove_item_from_container", "write", "container_id",
            **_ON_CONTAINER, **_MOVES_ITEM),
    declare("item", "create_item_instance", "write", "item_instance_id", **_ON_ITEM),
    declare("item", "ensure_item_instance", "write", "item_instance_id", **_ON_ITEM),
    declare("item", "get_item_instance", "read", "item_instance_id", entity="item"),
    declare("item", "item_instance_exists", "read", "item_instance_id", entity="item"),
    declare("item", "delete_item_instance", "write", "item_instance_id", **_ON_ITEM),
    declare("item", "list_item_instances_by_owner", "read", "owner_id"),
)  # fmt: skip

#: The MUD's declaration: its operations, entity kinds and the meaning of its errors
#: (refusals are the game's rules saying no; its DatabaseError is infrastructure).
MUD = Declarations(
    DECLARATIONS,
    DOMAIN_ENTITY_KINDS,
    already_open=(UnitOfWorkAlreadyOpen,),
    errors=ErrorMeanings.of(
        refusals=(ValidationError, NotFoundError), infrastructure=(DatabaseError,)
    ),
)

#: Async name → legacy name, for the operations whose names differ.
LEGACY_NAMES: dict[str, str] = {d.name: d.legacy_name for d in DECLARATIONS if d.legacy_name}


def declared(declarations: tuple[Declaration, ...] = DECLARATIONS) -> Declarations:
    """The MUD's declaration, or the same kinds and error meanings over other rows."""
    return MUD if declarations is DECLARATIONS else replace(MUD, operations=declarations)


def operations(declarations: tuple[Declaration, ...] = DECLARATIONS) -> list[Operation]:
    """Every persistence operation of the MUD, in declaration order."""
    return [declaration.operation() for declaration in declarations]


def build_registry(declarations: tuple[Declaration, ...] = DECLARATIONS) -> OperationRegistry:
    """A fresh registry of every operation (the router owns it from then on)."""
    return declared(declarations).registry()


def shadow_writes(declarations: tuple[Declaration, ...] = DECLARATIONS) -> ShadowWrites:
    """What the shadow runner needs to capture, restore and compare the MUD's writes."""
    return declared(declarations).shadow_writes()
