"""Game events and the in-process EventBus that both paths publish on.

Writes publish their events only once their transaction commits: a write inside a caller's
unit of work collects its events on that unit of work, and they are published on ``commit()``
and dropped on rollback.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from observability import report_error

__all__ = [
    "Event",
    "EventBus",
    "HPChanged",
    "PlayerDied",
    "PlayerLeveledUp",
    "PlayerMortallyWounded",
    "StatChanged",
    "XPGained",
]


@dataclass(frozen=True, slots=True)
class HPChanged:
    """A player's current health changed (``delta`` is what was applied after clamping)."""

    player_id: UUID
    old_hp: int
    new_hp: int
    max_hp: int
    delta: int
    damage_type: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class PlayerMortallyWounded:
    """HP fell from above 0 to between 0 and -9: the player is dying but not dead."""

    player_id: UUID
    hp: int


@dataclass(frozen=True, slots=True)
class PlayerDied:
    """HP reached -10 from above it."""

    player_id: UUID
    hp: int
    damage_type: str | None


@dataclass(frozen=True, slots=True)
class XPGained:
    """A player's experience changed; ``amount`` is the applied change."""

    player_id: UUID
    amount: int
    new_xp: int
    new_level: int
    source: str


@dataclass(frozen=True, slots=True)
class PlayerLeveledUp:
    """A player's level changed as a consequence of an XP change."""

    player_id: UUID
    old_level: int
    new_level: int


@dataclass(frozen=True, slots=True)
class StatChanged:
    """One whitelisted stat field changed."""

    player_id: UUID
    field_name: str
    old_value: int
    new_value: int
    reason: str


Event = HPChanged | PlayerMortallyWounded | PlayerDied | XPGained | PlayerLeveledUp | StatChanged
Handler = Callable[[Any], object]


class EventBus:
    """Synchronous, thread-safe publish/subscribe by event class.

    Handlers run in the publisher's thread. A handler that raises is logged and does not stop
    the others, nor the write that published the event.
    """

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self._lock = threading.Lock()

    def subscribe(self, event_type: type, handler: Handler) -> None:
        """Call ``handler(event)`` for every published event of ``event_type``."""
        with self._lock:
            self._handlers[event_type].append(handler)

    def unsubscribe(self, event_type: type, handler: Handler) -> None:
        """Stop calling ``handler`` for ``event_type``."""
        with self._lock:
            self._handlers[event_type].remove(handler)

    def publish(self, event: object) -> None:
        """Deliver ``event`` to every handler of its class."""
        handlers = self._handlers.get(type(event))
        if not handlers:
            return
        for handler in tuple(handlers):
            try:
                handler(event)
            except Exception as exc:
                report_error("events.handler_failed", exc, event_type=type(event).__name__)

    def publish_all(self, events: list[object]) -> None:
        """Publish ``events`` in order."""
        for event in events:
            self.publish(event)
