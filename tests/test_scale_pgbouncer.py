"""The platform through a real PgBouncer in transaction mode: every transaction may land on another server
connection, so no prepared statement and no session setting may outlive one (database_transaction_pooling)."""

from __future__ import annotations

import os
import shutil
import uuid

import httpx
import psycopg
import pytest

from geo_api.apikeys import key_hash, new_key
from geo_api.db import connect
from tests._scale import exercise, pgbouncer, register_device
from tests.conftest import LiveServer

_HAVE = shutil.which("pgbouncer") is not None or os.path.exists("/usr/sbin/pgbouncer")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not _HAVE, reason="pgbouncer not installed "
                                                   "(apt-get install pgbouncer; make test installs it)")]


@pytest.fixture(scope="module")
def bouncer(test_dsn):
    """PgBouncer, transaction mode, 3 server connections, in front of the session's test database."""
    with pgbouncer(test_dsn, pool_size=3) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def api_key(settings, katalog):
    key = new_key()
    with connect(settings) as db:
        db.execute("INSERT INTO api_key (name, role, key_hash) VALUES (%s, 'citizen_app', %s)",
                   (f"test-bouncer-{uuid.uuid4().hex[:6]}", key_hash(key)))
        db.commit()
    return key


def test_pgbouncer_is_in_transaction_mode(bouncer):
    """The fixture is what it claims: a session setting does not survive the transaction through it."""
    with psycopg.connect(bouncer, autocommit=True, prepare_threshold=None) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "30s"  # the pooler's connect_query


def test_http_through_pgbouncer(settings, bouncer, api_key, db):
    """Health, geocoding, OGC items/CQL/tiles, Open311 POST and reads, OsmAnd ingest and fleet reads, a map,
    each query seven times (psycopg would prepare it on the fifth), with 8 app connections over 3 servers."""
    via = settings.model_copy(update={"database_url": bouncer, "database_transaction_pooling": True,
                                      "database_direct_url": settings.dsn, "pool_min_size": 8,
                                      "pool_max_size": 8,
                                      # the set posts keyless fixes: tracker keys are tested in test_fleet_ingest
                                      "fleet_tracker_auth": "off"})
    device = register_device(db)
    with LiveServer(via) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        exercise(client, api_key, device)
