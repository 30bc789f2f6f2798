"""Where a database's schema stands against this release's migrations: at head, behind, ahead, or empty.

`satupeta db migrate --check` reports it; the app's lifespan refuses to start against a database that is not at
this release's head (an older schema lacks tables the code reads; a newer or foreign one is not understood).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import psycopg

from geo_api.errors import SatuPetaError

HEAD, BEHIND, AHEAD, EMPTY = "head", "behind", "ahead", "empty"
# `satupeta db migrate --check` exit codes: scripts can branch on them
EXIT_CODES = {HEAD: 0, BEHIND: 1, EMPTY: 1, AHEAD: 2}


class SchemaMismatch(SatuPetaError):
    """The database's schema is not the one this release understands; the message says what to run."""

    status, code, title = 503, "schema-mismatch", "Schema Mismatch"


@dataclass(frozen=True)
class SchemaState:
    """One database's revision beside this release's head."""

    state: str
    current: str | None
    head: str

    def sentence(self) -> str:
        """What an operator reads: where the schema stands and what to run."""
        if self.state == HEAD:
            return f"schema at head ({self.head})"
        if self.state == EMPTY:
            return f"schema empty (no migration applied; head is {self.head}): run `satupeta db migrate`"
        if self.state == BEHIND:
            return (f"schema behind: database at {self.current}, this release's head is {self.head}: "
                    "run `satupeta db migrate`")
        return (f"schema ahead: database at {self.current}, which this release does not know (its head is "
                f"{self.head}); the database was migrated by a newer release: run that release, or restore a "
                "backup taken before its migration")


@cache
def _script():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "sql:migrations")
    return ScriptDirectory.from_config(cfg)


def head() -> str:
    """This release's head revision (read once per process: the code loaded is the code that runs)."""
    return _script().get_current_head()


@cache
def known_revisions() -> frozenset[str]:
    """Every revision this release ships."""
    return frozenset(rev.revision for rev in _script().walk_revisions())


def classify(current: str | None) -> SchemaState:
    """The state of a database whose alembic_version holds `current` (None: no migration applied)."""
    top = head()
    if current is None:
        return SchemaState(EMPTY, None, top)
    if current == top:
        return SchemaState(HEAD, current, top)
    if current in known_revisions():
        return SchemaState(BEHIND, current, top)
    return SchemaState(AHEAD, current, top)


def state_of(conn: psycopg.Connection) -> SchemaState:
    """The schema state of a synchronous connection's database (CLI)."""
    cur = conn.cursor(row_factory=psycopg.rows.tuple_row)
    present = cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()[0]
    current = None
    if present:
        row = cur.execute("SELECT version_num FROM alembic_version LIMIT 1").fetchone()
        current = row[0] if row else None
    return classify(current)


async def state_of_async(conn: psycopg.AsyncConnection) -> SchemaState:
    """The schema state of an async connection's database (the app's lifespan and readiness)."""
    cur = conn.cursor(row_factory=psycopg.rows.tuple_row)
    await cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
    present = (await cur.fetchone())[0]
    current = None
    if present:
        await cur.execute("SELECT version_num FROM alembic_version LIMIT 1")
        row = await cur.fetchone()
        current = row[0] if row else None
    return classify(current)


async def refuse_unless_head(dsn: str) -> SchemaState | None:
    """Raise SchemaMismatch unless the database is at head; None when it cannot be reached now (start anyway:
    readiness says so, and /health answers 503 until it is back)."""
    try:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=5,
                                                     application_name="satupeta-schema-check")
    except psycopg.OperationalError:
        return None
    async with conn:
        st = await state_of_async(conn)
    if st.state != HEAD:
        raise SchemaMismatch(f"Satu Peta refuses to start: {st.sentence()}")
    return st


def refuse_unless_head_sync(dsn: str) -> SchemaState | None:
    """The same check before `satupeta serve` starts its workers (so N workers do not each die and restart)."""
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5, application_name="satupeta-schema-check")
    except psycopg.OperationalError:
        return None
    with conn:
        st = state_of(conn)
    if st.state != HEAD:
        raise SchemaMismatch(f"Satu Peta refuses to start: {st.sentence()}")
    return st
