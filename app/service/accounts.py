"""The account a new player needs: ``players.user_id`` references ``users``.

Accounts are not part of the persistence contract (neither path creates users), so the
service writes the row itself with plain SQL, and removes it again if the player is refused.
"""

from __future__ import annotations

import secrets
from uuid import UUID, uuid4

import asyncpg

__all__ = ["create_account", "delete_account"]

INSERT_USER = """
INSERT INTO users (user_id, username, email, password_hash)
VALUES ($1, $2, $3, $4)
"""
DELETE_USER = """
DELETE FROM users u WHERE u.user_id = $1
AND NOT EXISTS (SELECT 1 FROM players p WHERE p.user_id = u.user_id)
"""


async def create_account(pool: asyncpg.Pool, player_name: str) -> UUID:
    """Insert an account for a player called ``player_name``; return its ``user_id``."""
    user_id = uuid4()
    username = f"{player_name[:36]}-{user_id.hex[:8]}"
    email = f"{user_id.hex}@players.invalid"
    async with pool.acquire() as conn:
        await conn.execute(INSERT_USER, user_id, username, email, "!" + secrets.token_hex(16))
    return user_id


async def delete_account(pool: asyncpg.Pool, user_id: UUID) -> None:
    """Remove an account that owns no player (the compensation when creating one failed)."""
    async with pool.acquire() as conn:
        await conn.execute(DELETE_USER, user_id)
