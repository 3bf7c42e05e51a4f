"""The one place where psycopg2 errors become ``persistence.errors`` classes.

Integrity violations (a taken name, a reference to a missing user, profession, prototype or
room, a failed check) and data errors (a value out of range) are the caller's bad input, so
they become ``ValidationError``; everything else the driver raises becomes ``DatabaseError``.
``translate`` is the hook the legacy path's units of work raise every error through: the
units' own ``UnitFailed`` and ``UnitAlreadyOpen`` become ``TransactionAborted`` and
``UnitOfWorkAlreadyOpen``.
"""

from __future__ import annotations

import psycopg2

from persistence.errors import (
    DatabaseError,
    PersistenceError,
    TransactionAborted,
    UnitOfWorkAlreadyOpen,
    ValidationError,
)
from units.errors import UnitAlreadyOpen, UnitFailed

__all__ = ["translate", "translate_error"]

# Constraint names from the schema, and what a violation means to the caller.
CONSTRAINT_MESSAGES = {
    "players_name_key": "a player with this name already exists (names are case-insensitive)",
    "players_user_id_key": "this user already has a player",
    "players_user_id_fkey": "the player's user does not exist",
    "players_profession_id_fkey": "the player's profession does not exist",
    "item_instances_pkey": "an item instance with this id already exists",
    "item_instances_prototype_id_fkey": "the item prototype does not exist",
    "containers_pkey": "a container with this id already exists",
    "containers_room_id_fkey": "the container's room does not exist",
    "container_contents_item_instance_id_key": "the item is already in a container",
    "container_contents_container_id_position_key": "the container slot is already taken",
}
SQLSTATE_MESSAGES = {
    "23505": "duplicate value",
    "23503": "reference to a missing row",
    "23514": "value violates a check constraint",
    "23502": "missing required value",
}


def translate_error(exc: psycopg2.Error) -> PersistenceError:
    """The persistence error for a driver error; raise it ``from exc``."""
    if isinstance(exc, psycopg2.IntegrityError):
        return ValidationError(_integrity_message(exc))
    if isinstance(exc, psycopg2.DataError):
        return ValidationError(f"invalid value: {_first_line(exc)}")
    return DatabaseError(f"{type(exc).__name__}: {_first_line(exc)}")


def translate(exc: Exception) -> Exception:
    """The error a legacy unit of work raises for ``exc`` (``units.SyncUnits``' hook)."""
    if isinstance(exc, psycopg2.Error):
        return translate_error(exc)
    if isinstance(exc, UnitFailed) and not isinstance(exc, TransactionAborted):
        return TransactionAborted(str(exc))
    if isinstance(exc, UnitAlreadyOpen) and not isinstance(exc, UnitOfWorkAlreadyOpen):
        return UnitOfWorkAlreadyOpen("a unit of work is already open on this layer in this context")
    return exc


def _integrity_message(exc: psycopg2.Error) -> str:
    constraint = getattr(exc.diag, "constraint_name", None)
    if constraint in CONSTRAINT_MESSAGES:
        return CONSTRAINT_MESSAGES[constraint]
    generic = SQLSTATE_MESSAGES.get(exc.pgcode or "", "integrity violation")
    return f"{generic} ({constraint or _first_line(exc)})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"
