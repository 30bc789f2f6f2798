"""Schema state (`satupeta db migrate --check`), the server refusing a database it does not understand, and
/health split into liveness and readiness."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from geo_api import schema
from geo_api.db import migrate
from geo_api.settings import Settings
from tests.conftest import LiveServer, _with_db

ROOT = Path(__file__).resolve().parent.parent
SATUPETA = [sys.executable, "-m", "geo_api.cli"]


def _cli(dsn: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": dsn, "SATUPETA_FLEET_OSMAND_LISTEN": "false"}
    return subprocess.run([*SATUPETA, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def scratch_dsn(base_settings: Settings) -> Iterator[str]:
    """An empty database of this test's own on the configured server; dropped afterwards."""
    name = f"satupeta_schema_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_settings.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = _with_db(base_settings.dsn, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    try:
        yield dsn
    finally:
        with psycopg.connect(base_settings.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _version(dsn: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None


def _previous_revision() -> str:
    return schema._script().get_revision(schema.head()).down_revision


def test_check_at_head_on_the_session_database(test_dsn):
    proc = _cli(test_dsn, "db", "migrate", "--check")
    assert proc.returncode == 0, proc.stderr
    assert f"schema at head ({schema.head()})" in proc.stdout


def test_check_empty_behind_and_ahead(base_settings, scratch_dsn):
    proc = _cli(scratch_dsn, "db", "migrate", "--check")
    assert proc.returncode == 1 and "schema empty" in proc.stdout and "satupeta db migrate" in proc.stdout

    previous = _previous_revision()
    migrate(base_settings, revision=previous, dsn=scratch_dsn)
    proc = _cli(scratch_dsn, "db", "migrate", "--check")
    assert proc.returncode == 1, proc.stdout
    assert f"database at {previous}" in proc.stdout and "run `satupeta db migrate`" in proc.stdout
    assert _version(scratch_dsn) == previous  # --check changes nothing

    migrate(base_settings, dsn=scratch_dsn)
    with psycopg.connect(scratch_dsn, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
    proc = _cli(scratch_dsn, "db", "migrate", "--check")
    assert proc.returncode == 2 and "schema ahead" in proc.stdout and "9999_from_a_newer_release" in proc.stdout


def test_migrate_against_a_newer_database_refuses_and_changes_nothing(base_settings, scratch_dsn):
    migrate(base_settings, dsn=scratch_dsn)
    with psycopg.connect(scratch_dsn, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                              "('pg_catalog', 'information_schema')").fetchone()[0]
    proc = _cli(scratch_dsn, "db", "migrate")
    assert proc.returncode == 2
    assert "not migrating" in proc.stderr and "newer release" in proc.stderr and "Traceback" not in proc.stderr
    assert _version(scratch_dsn) == "9999_from_a_newer_release"
    with psycopg.connect(scratch_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                            "('pg_catalog', 'information_schema')").fetchone()[0] == tables


@pytest.mark.parametrize("where", ["behind", "ahead"])
def test_server_refuses_to_start_on_a_schema_it_does_not_understand(base_settings, scratch_dsn, where):
    if where == "behind":
        migrate(base_settings, revision=_previous_revision(), dsn=scratch_dsn)
        expected = "run `satupeta db migrate`"
    else:
        migrate(base_settings, dsn=scratch_dsn)
        with psycopg.connect(scratch_dsn, autocommit=True) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
        expected = "migrated by a newer release"
    port = _free_port()
    proc = _cli(scratch_dsn, "serve", "--port", str(port), "--workers", "1", timeout=120)
    assert proc.returncode != 0
    assert "refuses to start" in proc.stderr and expected in proc.stderr, proc.stderr[-2000:]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2)


def test_live_and_ready_on_a_healthy_server(client):
    live = client.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "alive"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "schema": "ok", "indexes": "ok"}}
    assert client.get("/health").json()["status"] == "ok"  # the old answer is unchanged


def test_live_but_not_ready_when_the_database_is_away(settings):
    down = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/none"})
    with LiveServer(down) as server:
        live = httpx.get(server.url + "/health/live", timeout=30)
        ready = httpx.get(server.url + "/health/ready", timeout=30)
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    body = ready.json()
    assert body["checks"]["database"] != "ok" and "database" in body["detail"]


def test_not_ready_when_the_schema_moves_away_under_a_running_server(base_settings, scratch_dsn, settings):
    migrate(base_settings, dsn=scratch_dsn)
    own = settings.model_copy(update={"database_url": scratch_dsn})
    with LiveServer(own) as server:
        assert httpx.get(server.url + "/health/ready", timeout=60).json()["checks"]["schema"] == "ok"
        with psycopg.connect(scratch_dsn, autocommit=True) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
        ready = httpx.get(server.url + "/health/ready", timeout=60)
        live = httpx.get(server.url + "/health/live", timeout=30)
    assert ready.status_code == 503 and "schema ahead" in ready.json()["checks"]["schema"]
    assert live.status_code == 200


def test_the_app_itself_refuses_a_schema_behind(base_settings, scratch_dsn, settings):
    """`uvicorn --factory geo_api.app:create_app` without the CLI: the lifespan refuses too."""
    migrate(base_settings, revision=_previous_revision(), dsn=scratch_dsn)
    behind = settings.model_copy(update={"database_url": scratch_dsn})
    server = LiveServer(behind)
    with pytest.raises(RuntimeError, match="did not start"):
        server.__enter__()
    server.__exit__(None, None, None)
