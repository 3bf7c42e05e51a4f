"""Deliberate divergences of the demo's async path, for ``dualpath run --demo-bug NAME``.

Each bug replaces one method of the async path (``AsyncPersistenceLayer``) in this process
only, so a newcomer can watch the whole loop: the divergence recorded, its side-by-side diff,
readiness blocked, and the reproduction failing. The code version the system records becomes
``<version>+demo-bug.<name>``; a reproduction of that version installs the same bug before it
replays (:func:`installed_for`), as running that code version would.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["DEMO_BUGS", "DemoBug", "describe", "install", "installed_for", "version_with"]

MARK = "+demo-bug."


def _damage_one_more(original: Callable[..., Any]) -> Callable[..., Any]:
    async def damage_player(self: Any, player: Any, amount: int, *args: Any, **kw: Any) -> Any:
        return await original(self, player, amount + 1, *args, **kw)

    return damage_player


def _room_name_upper(original: Callable[..., Any]) -> Callable[..., Any]:
    async def get_room_by_id(self: Any, room_id: str) -> Any:
        room = await original(self, room_id)
        return None if room is None else dataclasses.replace(room, name=room.name.upper())

    return get_room_by_id


def _level_plus_one(original: Callable[..., Any]) -> Callable[..., Any]:
    async def get_player_by_id(self: Any, player_id: Any) -> Any:
        player = await original(self, player_id)
        return None if player is None else dataclasses.replace(player, level=player.level + 1)

    return get_player_by_id


@dataclass(frozen=True, slots=True)
class DemoBug:
    """One deliberate divergence: what it does, and which async method it replaces how."""

    description: str
    method: str
    make: Callable[[Callable[..., Any]], Callable[..., Any]]


DEMO_BUGS: dict[str, DemoBug] = {
    "damage-off-by-one": DemoBug(
        "a write: async damage_player takes one HP more than asked (health, in live)",
        "damage_player", _damage_one_more,
    ),
    "room-name-upper": DemoBug(
        "a read: async get_room_by_id returns the room's name in upper case (room, in shadow)",
        "get_room_by_id", _room_name_upper,
    ),
    "player-level": DemoBug(
        "a read: async get_player_by_id reports one level too many (player, in shadow)",
        "get_player_by_id", _level_plus_one,
    ),
}  # fmt: skip


def describe() -> str:
    """The bugs, one per line, for ``--help`` and error messages."""
    return "; ".join(f"{name}: {bug.description}" for name, bug in DEMO_BUGS.items())


def version_with(version: str, name: str) -> str:
    """The code version a system with demo bug ``name`` records."""
    return f"{version}{MARK}{name}"


@contextlib.contextmanager
def install(name: str) -> Iterator[DemoBug]:
    """Replace the bug's async method for as long as the block runs; ``KeyError`` if unknown."""
    from persistence.async_layer import AsyncPersistenceLayer

    bug = DEMO_BUGS[name]
    original = getattr(AsyncPersistenceLayer, bug.method)
    setattr(AsyncPersistenceLayer, bug.method, bug.make(original))
    try:
        yield bug
    finally:
        setattr(AsyncPersistenceLayer, bug.method, original)


@contextlib.contextmanager
def installed_for(code_version: str) -> Iterator[None]:
    """The demo bug ``code_version`` names, installed; nothing if it names none."""
    name = code_version.rpartition(MARK)[2] if MARK in code_version else ""
    if name not in DEMO_BUGS:
        yield
        return
    with install(name):
        yield
