"""Apply the Alembic migrations programmatically, as ``dualpath db upgrade`` does."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, dualpath_only: bool = False) -> None:
    """Migrate the database at ``url`` up to ``revision``.

    ``dualpath_only``: dualpath's own tables (flags, audit, overrides, divergences, rollups,
    the guard's record) without the MUD's game schema, for another team's database.
    """
    config = alembic_config(url)
    config.attributes["dualpath_only"] = dualpath_only
    command.upgrade(config, revision)


def current(url: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from persistence.urls import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(url, driver="psycopg2"), poolclass=NullPool)
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return rev
