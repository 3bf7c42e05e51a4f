"""dualpath's Alembic migrations: one chain, ``0001`` … , for the MUD's schema and dualpath's.

``0001`` is the MUD's game schema; every later revision so far is dualpath's own tables. A
``dualpath db upgrade --dualpath-only`` (``persistence.migrate.upgrade(dualpath_only=True)``)
installs the same chain into another team's database with the game schema left out: a
migration of the MUD's schema runs its statements only when :func:`game_schema_wanted` says
so. A migration of dualpath's own tables needs nothing of the kind: it is declared as usual,
``down_revision`` the previous head, and runs in both installs.
"""

from __future__ import annotations

__all__ = ["game_schema_wanted"]


def game_schema_wanted() -> bool:
    """Whether this upgrade installs the MUD's game schema (not ``--dualpath-only``)."""
    from alembic import context

    return not context.config.attributes.get("dualpath_only", False)
