"""Alembic environment: runs migrations over a psycopg2 connection to the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from persistence.urls import sqlalchemy_url

config = context.config


def run_migrations_online() -> None:
    """Apply migrations to the database named in the Alembic config."""
    url = sqlalchemy_url(config.get_main_option("sqlalchemy.url") or "", driver="psycopg2")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
