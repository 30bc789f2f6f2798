"""SQL of the platform: alembic migrations (migrations/) and named queries (queries/*.sql)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def query(name: str) -> str:
    """Return the text of the named query `sql/queries/NAME.sql`."""
    return resources.files(__package__).joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")


@cache
def migration_sql(name: str) -> str:
    """Return the text of a migration script `sql/migrations/NAME.sql`."""
    return resources.files(__package__).joinpath("migrations", f"{name}.sql").read_text(encoding="utf-8")


def apply_migration(name: str) -> None:
    """Execute `sql/migrations/NAME.sql` verbatim on alembic's connection (no bind-parameter parsing)."""
    from alembic import op

    op.get_bind().connection.driver_connection.execute(migration_sql(name))
