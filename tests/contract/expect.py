"""Assertions shared by the contract tests, each against the stored state read independently."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from persistence.models import Container, ItemInstance, Player
from persistence.rows import player_from_row
from tests.contract.adapters import PathUnderTest
from tests.contract.stored import Row, StoredState

PLAYER_COLUMNS = (
    "player_id",
    "user_id",
    "name",
    "current_room_id",
    "profession_id",
    "inventory",
    "equipped",
    "experience_points",
    "level",
    "is_admin",
    "created_at",
    "last_active",
)


def player_matches_row(player: Player, row: Row) -> None:
    """Every field of ``player`` equals the stored row (stats as the stored JSON object)."""
    assert isinstance(player, Player)
    for column in PLAYER_COLUMNS:
        assert getattr(player, column) == row[column], column
    assert player.stats.to_dict() == row["stats"]


def as_player(row: Row) -> Player:
    """A Player to hand to a path, built from a stored row."""
    return player_from_row(row)


def container_matches_row(container: Container, row: Row) -> None:
    """Every field of ``container`` equals the stored row and its contents."""
    assert isinstance(container, Container)
    for f in fields(Container):
        assert getattr(container, f.name) == row[f.name], f.name


def item_matches_row(item: ItemInstance, row: Row) -> None:
    """Every field of ``item`` equals the stored row."""
    assert isinstance(item, ItemInstance)
    for f in fields(ItemInstance):
        assert getattr(item, f.name) == row[f.name], f.name


async def rejected(
    path: PathUnderTest,
    stored: StoredState,
    error: type[BaseException],
    method: str,
    *args: Any,
    **kwargs: Any,
) -> BaseException:
    """``method`` raises ``error``, writes nothing and publishes nothing."""
    before = stored.fingerprint()
    with pytest.raises(error) as caught:
        await path.call(method, *args, **kwargs)
    assert stored.fingerprint() == before, "the stored state changed"
    assert path.published == []
    return caught.value


def level_of(xp: int) -> int:
    """Level 1 at 0 XP, level n from 100·(n-1)² XP, computed without the shared rules."""
    level = 1
    while 100 * level * level <= xp:
        level += 1
    return level
