"""What every async repository shares: its database and event bus, and a few input checks."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from persistence import rules
from persistence.async_db import AsyncDatabase, default_database
from persistence.errors import ValidationError
from persistence.events import EventBus
from persistence.models import Player

INT4 = 2**31
MAX_WEIGHT = 1_000_000  # numeric(8,2)
# Deltas are clamped to this before they reach SQL: every stored value is an int4, so a larger
# delta clamps to the same result, and the SQL arithmetic stays within bigint.
MAX_DELTA = 2**40
# The shared checks, under the names this path has always used.
read_key = rules.read_key
optional_datetime = rules.optional_datetime
json_mapping = rules.require_json_object


class Repository:
    """A repository's database (given, or the process default at first use) and event bus."""

    def __init__(self, event_bus: EventBus | None, database: AsyncDatabase | None) -> None:
        self.event_bus = event_bus
        self._database = database

    @property
    def database(self) -> AsyncDatabase:
        """The database this repository uses; resolving the default reads ``DATABASE_URL``."""
        database = self._database
        if database is None:
            database = self._database = default_database()
        return database


def require_player(player: object) -> Player:
    """A Player object, whose ``player_id`` is a UUID."""
    if not isinstance(player, Player):
        raise ValidationError(f"expected a Player, got {type(player).__name__}")
    rules.require_uuid(player.player_id, "player_id")
    return player


def clamp_delta(delta: int) -> int:
    """A delta bounded to ``MAX_DELTA``, which gives the same clamped result."""
    return max(-MAX_DELTA, min(MAX_DELTA, delta))


def in_int4(value: int) -> bool:
    """Whether ``value`` fits a PostgreSQL ``integer`` (larger ids cannot match a row)."""
    return -INT4 <= value < INT4


def optional_uuid(value: object, what: str) -> UUID | None:
    """None, or a valid UUID."""
    return None if value is None else rules.require_uuid(value, what)


def optional_key(value: object, what: str) -> str | None:
    """None, or a non-empty identifier."""
    return None if value is None else rules.require_key(value, what)


def optional_text(value: object, what: str, max_length: int) -> str | None:
    """None, or a string of at most ``max_length`` characters."""
    return None if value is None else rules.require_text(value, what, max_length=max_length)


def optional_decimal(value: object, what: str) -> Decimal | None:
    """None, or a positive Decimal below ``MAX_WEIGHT`` (an int is accepted)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValidationError(f"{what} must be a Decimal, got {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite() or not 0 < number < MAX_WEIGHT:
        raise ValidationError(f"{what} must be positive and below {MAX_WEIGHT}, got {value}")
    return number
