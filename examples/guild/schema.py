"""The guild's table; a team's own migration would create it."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS guilds (
    guild_id    uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    gold        bigint NOT NULL DEFAULT 0 CHECK (gold >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Guild:
    """One guild as both paths return it."""

    guild_id: str
    name: str
    gold: int


def guild_of(row: dict[str, object]) -> Guild:
    """A ``Guild`` from a row of ``guild_id, name, gold``."""
    return Guild(str(row["guild_id"]), str(row["name"]), int(row["gold"]))  # type: ignore[call-overload]
