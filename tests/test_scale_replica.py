"""A real streaming replica (`satupeta db start --replica`, pg_basebackup -R) of a scratch embedded cluster:
reads go there, a client reads its own write from the primary, and /health shows the lag."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from geo_api import pgcluster
from geo_api.apikeys import key_hash, new_key
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from tests._scale import BASE, POINT, exercise, free_port, register_device
from tests.conftest import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not any(os.path.exists(f"/usr/lib/postgresql/{v}/bin/pg_basebackup") for v in range(13, 19)),
    reason="PostgreSQL server not installed")]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | env
    return subprocess.run([sys.executable, "-m", "geo_api.cli", "db", *args], capture_output=True, text=True,
                          env=full, timeout=300)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A scratch primary (migrated, bundled data, catalogue) and its replica, started through the CLI."""
    tmp = tmp_path_factory.mktemp("replica")
    env = {"SATUPETA_PG_DATA_DIR": str(tmp / "pg"), "SATUPETA_PG_PORT": str(free_port()),
           "SATUPETA_PG_REPLICA_PORT": str(free_port()), "SATUPETA_PG_DATABASE": "scale"}
    primary = Settings(database_url=None, pg_data_dir=tmp / "pg", pg_port=int(env["SATUPETA_PG_PORT"]),
                       pg_database="scale", pg_replica_port=int(env["SATUPETA_PG_REPLICA_PORT"]))
    replica = pgcluster.replica_settings(primary)
    try:
        pgcluster.init(primary)
        with (pgcluster.data_dir(primary) / "postgresql.auto.conf").open("a", encoding="utf-8") as fh:
            fh.write("shared_buffers = '128MB'\nmax_connections = 60\n")  # a shared machine
        started = _cli(env, "start")
        assert started.returncode == 0, started.stderr
        migrate(primary)
        from geo_api import catalogue
        from ingestion.bundled import load_bundled

        with connect(primary) as conn:
            load_bundled(conn, primary.data_dir)

        async def setup():
            async with await psycopg.AsyncConnection.connect(primary.dsn, row_factory=dict_row,
                                                             autocommit=True) as conn:
                await catalogue.setup(conn, primary)

        asyncio.run(setup())
        first = _cli(env, "start", "--replica")
        assert first.returncode == 0, first.stderr
        assert "replica created and started" in first.stderr
        again = _cli(env, "start", "--replica")
        assert again.returncode == 0 and "replica already running" in again.stderr
        yield primary, replica, env
    finally:
        with contextlib.suppress(Exception):
            _cli(env, "stop")
        for s in (replica, primary):
            shutil.rmtree(pgcluster.data_dir(s), ignore_errors=True)


@pytest.fixture(scope="module")
def app_url(pair):
    primary, replica, _ = pair
    # the HTTP set posts keyless fixes (tracker keys are tested in test_fleet_ingest)
    s = primary.model_copy(update={"database_url": primary.dsn, "database_replica_url": replica.dsn,
                                   "fleet_tracker_auth": "off"})
    with LiveServer(s) as server:
        yield server.url


@pytest.fixture(scope="module")
def api_key(pair):
    primary = pair[0]
    key = new_key()
    with connect(primary) as db:
        db.execute("INSERT INTO api_key (name, role, key_hash) VALUES (%s, 'citizen_app', %s)",
                   (f"test-replica-{uuid.uuid4().hex[:6]}", key_hash(key)))
        db.commit()
    return key


def _caught_up(client: httpx.Client, timeout: float = 60) -> dict:
    """Poll /health until the replica has replayed everything the primary wrote (lag 0)."""
    deadline = time.monotonic() + timeout
    while True:
        rep = client.get("/health").json()["replica"]
        if rep["lag_bytes"] == 0 or time.monotonic() > deadline:
            return rep
        time.sleep(0.2)


def test_replica_is_streaming_and_health_shows_lag(pair, app_url):
    _, replica, _ = pair
    with psycopg.connect(replica.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    with httpx.Client(base_url=app_url, timeout=30) as client:
        h = client.get("/health").json()
        assert h["status"] == "ok" and h["replica"]["reachable"] and h["replica"]["in_recovery"]
        rep = _caught_up(client)
        assert rep["lag_bytes"] == 0 and rep["lag_s"] == 0


def test_reads_from_replica_and_own_writes_from_primary(pair, app_url, api_key):
    """With replay paused on the replica, a new report is missing from the replica-backed list but found by
    id (primary); after resuming and lag 0, the list has it too."""
    _, replica, _ = pair
    with httpx.Client(base_url=app_url, timeout=30) as client, \
            psycopg.connect(replica.dsn, autocommit=True) as rconn:
        _caught_up(client)
        rconn.execute("SELECT pg_wal_replay_pause()")
        try:
            marker = f"Sampah menumpuk {uuid.uuid4().hex[:8]}"
            r = client.post(f"{BASE}/requests.json", data={"api_key": api_key, "service_code": "sampah_menumpuk",
                                                            **POINT, "description": marker})
            assert r.status_code == 200, r.text
            rid = r.json()[0]["service_request_id"]
            one = client.get(f"{BASE}/requests/{rid}.json")
            assert one.status_code == 200 and one.json()[0]["description"] == marker
            by_id = client.get(f"{BASE}/requests.json", params={"service_request_id": rid}).json()
            assert [x["service_request_id"] for x in by_id] == [rid]
            listed = client.get(f"{BASE}/requests.json", params={"service_code": "sampah_menumpuk"}).json()
            assert rid not in {x["service_request_id"] for x in listed}  # the paused replica has not seen it
            assert client.get("/health").json()["replica"]["lag_bytes"] > 0
        finally:
            rconn.execute("SELECT pg_wal_replay_resume()")
        assert _caught_up(client)["lag_bytes"] == 0
        listed = client.get(f"{BASE}/requests.json", params={"service_code": "sampah_menumpuk"}).json()
        assert rid in {x["service_request_id"] for x in listed}
        names = {r[0] for r in rconn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()")}
        assert "satupeta-api-read" in names


def test_http_set_with_reads_on_replica(pair, app_url, api_key):
    """Every replica-backed route works on a read-only hot standby (a write there would fail)."""
    primary = pair[0]
    with connect(primary) as db:
        device = register_device(db)
    with httpx.Client(base_url=app_url, timeout=60) as client:
        _caught_up(client)
        answers = exercise(client, api_key, device, rounds=2)
        assert answers["items"] == 5 and answers["map"]
        for path in ("/peta/laporan", "/peta/armada", "/fleet/summary", "/fleet/visits", "/ogc/collections"):
            assert client.get(path).status_code == 200, path


def test_stop_replica_then_health_degraded(pair, app_url):
    _, _, env = pair
    stopped = _cli(env, "stop", "--replica")
    assert stopped.returncode == 0 and "replica stopped" in stopped.stderr
    try:
        with httpx.Client(base_url=app_url, timeout=60) as client:
            h = client.get("/health").json()
            assert h["status"] == "degraded" and h["replica"]["reachable"] is False
    finally:
        assert _cli(env, "start", "--replica").returncode == 0
