"""Alembic environment: the URL comes from the one Settings object (or the caller's override)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from geo_api.settings import get_settings

config = context.config


def run_migrations_online() -> None:
    """Run every pending revision in one transaction on the configured database."""
    url = config.attributes.get("sqlalchemy_url") or get_settings().sqlalchemy_url()
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
