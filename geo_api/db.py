"""The one way to reach the database: the app's async pool and, for the CLI, a plain connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from geo_api.errors import ServiceUnavailable
from geo_api.settings import Settings
from sql import query

log = logging.getLogger("satupeta.db")


def _session_kwargs(settings: Settings, application_name: str) -> dict[str, Any]:
    """Connection options; a transaction-mode pooler gets no prepared statements and no startup options.

    PgBouncer in transaction mode hands each transaction to any server connection, so a statement psycopg
    prepared (after `prepare_threshold` runs) is missing, or another one's, on the next; and it refuses the
    `options` startup parameter (statement_timeout is then the pooler's connect_query or the role's setting).
    """
    kwargs: dict[str, Any] = {"row_factory": dict_row, "application_name": application_name}
    if settings.database_transaction_pooling:
        kwargs["prepare_threshold"] = None
    else:
        kwargs["options"] = f"-c statement_timeout={settings.statement_timeout_ms}"
    return kwargs


def connect(settings: Settings, *, autocommit: bool = False, dsn: str | None = None) -> psycopg.Connection:
    """Open one synchronous connection (CLI, loaders, migrations); rows come back as dicts."""
    kwargs = _session_kwargs(settings, "satupeta-cli")
    kwargs.pop("options", None)  # the CLI's loads and rebuilds may take longer than an API statement
    try:
        return psycopg.connect(dsn or settings.dsn, autocommit=autocommit, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable(f"Cannot reach the database: {_first_line(exc)}") from exc


def open_pool(settings: Settings, *, dsn: str | None = None,
              application_name: str = "satupeta-api") -> AsyncConnectionPool:
    """Create (not yet open) the async pool the app owns for its lifetime (the primary unless `dsn`)."""
    return AsyncConnectionPool(
        dsn or settings.dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs={"autocommit": True, **_session_kwargs(settings, application_name)},
        open=False,
        timeout=10,
    )


def open_read_pool(settings: Settings) -> AsyncConnectionPool | None:
    """The replica's pool for read-only work, or None when no replica is configured (reads use the primary)."""
    if not settings.replica_dsn:
        return None
    return open_pool(settings, dsn=settings.replica_dsn, application_name="satupeta-api-read")


def read_pool(state: Any) -> AsyncConnectionPool:
    """The pool for read-only work on an app's state: the replica's when configured, else the primary's."""
    return getattr(state, "read_pool", None) or state.pool


async def listen_connection(settings: Settings) -> psycopg.AsyncConnection:
    """A direct autocommit connection to the primary for LISTEN (a transaction pooler cannot carry one)."""
    try:
        return await psycopg.AsyncConnection.connect(settings.direct_dsn, autocommit=True, row_factory=dict_row,
                                                     connect_timeout=10, application_name="satupeta-listen")
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable(f"Cannot reach the database: {_first_line(exc)}") from exc


@asynccontextmanager
async def pooled(pool: AsyncConnectionPool) -> AsyncIterator[psycopg.AsyncConnection]:
    """Borrow a connection; an unreachable database becomes a 503 problem, not a 500."""
    try:
        async with pool.connection() as conn:
            yield conn
    except (psycopg.OperationalError, TimeoutError) as exc:
        # PoolTimeout subclasses OperationalError: both mean "the database is not there now".
        raise ServiceUnavailable(f"The database is not reachable: {_first_line(exc)}") from exc


async def fetch_all(conn: psycopg.AsyncConnection, name: str, params: Any = None) -> list[dict[str, Any]]:
    """Run the named query from sql/queries and return all rows."""
    async with conn.cursor() as cur:
        await cur.execute(query(name), params)
        return await cur.fetchall()


async def fetch_one(conn: psycopg.AsyncConnection, name: str, params: Any = None) -> dict[str, Any] | None:
    """Run the named query from sql/queries and return the first row (or None)."""
    async with conn.cursor() as cur:
        await cur.execute(query(name), params)
        return await cur.fetchone()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def migrate(settings: Settings, *, revision: str = "head", dsn: str | None = None) -> None:
    """Bring the schema to `revision` with alembic (scripts in sql/migrations)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "sql:migrations")
    url = settings.sqlalchemy_url() if dsn is None else settings.model_copy(
        update={"database_url": dsn, "database_direct_url": None}).sqlalchemy_url()
    cfg.attributes["sqlalchemy_url"] = url
    try:
        command.upgrade(cfg, revision)
    except Exception as exc:  # alembic wraps driver errors in SQLAlchemy ones
        if "could not connect" in str(exc) or "Connection refused" in str(exc):
            raise ServiceUnavailable(f"Cannot reach the database to migrate: {_first_line(exc)}") from exc
        raise
