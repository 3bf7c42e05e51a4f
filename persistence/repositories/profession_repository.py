"""Professions: the available ones as a list, any one by id."""

from __future__ import annotations

from persistence import rules
from persistence.async_db import AsyncDatabase, statement
from persistence.models import Profession
from persistence.repositories._base import Repository, in_int4
from persistence.rows import profession_from_row

__all__ = ["ProfessionRepository"]

_COLUMNS = "profession_id, name, description, flavor_text, stat_requirements, is_available"
AVAILABLE = statement(
    f"SELECT {_COLUMNS} FROM professions WHERE is_available ORDER BY profession_id"
)
BY_ID = statement(
    f"SELECT {_COLUMNS} FROM professions WHERE profession_id = :profession_id", "profession_id"
)


class ProfessionRepository(Repository):
    """Profession queries."""

    def __init__(self, *, database: AsyncDatabase | None = None) -> None:
        super().__init__(None, database)

    async def get_all_professions(self) -> list[Profession]:
        """The available professions, by ``profession_id``."""
        return [profession_from_row(row) for row in await self.database.fetch(AVAILABLE.sql)]

    async def get_profession_by_id(self, profession_id: int) -> Profession | None:
        """The profession (available or not), or None."""
        if not in_int4(rules.require_int(profession_id, "profession_id")):
            return None
        row = await self.database.fetchrow(BY_ID.sql, profession_id)
        return None if row is None else profession_from_row(row)
