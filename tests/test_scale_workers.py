"""`satupeta serve --workers 2` as real processes over the session's database: the representative HTTP set,
the OsmAnd listener port shared by both workers (SO_REUSEPORT), and the same answers whichever worker takes a
request (each on a new connection): the /lapor bucket, the catalogue's renderings and the download cache (the
checks of tests/test_shared_processes.py, there over two separate processes)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from geo_api.apikeys import key_hash, new_key
from tests._scale import exercise, free_port, register_device, served
from tests.test_shared_processes import (
    check_downloads_follow_republish,
    check_metadata_seen_at_once,
    gis_admin,  # noqa: F401  (fixture)
    katalog_env,
    lapor_codes,
)

pytestmark = pytest.mark.slow


def _workers(parent: int) -> list[int]:
    """The worker processes uvicorn's supervisor spawned (multiprocessing spawn children)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def api_key(settings, katalog):
    from geo_api.db import connect

    key = new_key()
    with connect(settings) as db:
        db.execute("INSERT INTO api_key (name, role, key_hash) VALUES (%s, 'citizen_app', %s)",
                   (f"test-workers-{uuid.uuid4().hex[:6]}", key_hash(key)))
        db.commit()
    return key


def test_two_workers_serve_the_http_set_and_share_the_osmand_port(test_dsn, api_key, db):
    osmand_port = free_port()
    env = {"DATABASE_URL": test_dsn, "SATUPETA_FLEET_OSMAND_LISTEN": "true",
           "SATUPETA_FLEET_OSMAND_PORT": str(osmand_port), "SATUPETA_RATELIMIT_ENABLED": "false"}
    device = register_device(db)
    with served(env, workers=2) as (url, supervisor), httpx.Client(base_url=url, timeout=60) as client:
        assert len(_workers(supervisor)) == 2
        answers = exercise(client, api_key, device)
        assert answers["map"] and answers["items"] == 5
        # the listener port: every worker bound it, so every connection is accepted, whichever gets it
        t0 = int(time.time()) - 300
        for i in range(12):
            with httpx.Client(timeout=30) as fresh:  # a new connection each time: the kernel picks a worker
                r = fresh.get(f"http://127.0.0.1:{osmand_port}/", params={
                    "id": device, "lat": -6.17 + i * 1e-4, "lon": 106.63, "timestamp": t0 + i * 10})
            assert r.status_code == 200, r.text
    n = db.execute("SELECT count(*) AS n FROM fleet.position p JOIN fleet.device d ON d.id = p.device_id "
                   "WHERE d.unique_id = %s AND p.fix_time >= to_timestamp(%s)", (device, t0)).fetchone()["n"]
    assert n == 12


BURST = 4  # not the two-process tests' burst: a bucket of its own (the limits are part of its name)


@pytest.fixture(scope="module")
def unduh_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("unduh-workers")


@pytest.fixture(scope="module")
def two_workers(test_dsn, unduh_dir, katalog) -> str:
    env = {"DATABASE_URL": test_dsn, "SATUPETA_LAYERS_CATALOG_TTL_S": "3600", **katalog_env(unduh_dir, BURST)}
    with served(env, workers=2) as (url, supervisor):
        assert len(_workers(supervisor)) == 2
        yield url


def test_lapor_bucket_holds_whichever_worker_takes_it(two_workers):
    assert lapor_codes([two_workers], BURST + 2, uuid.uuid4().hex[:6]) == [200] * BURST + [429, 429]


def test_metadata_revised_is_rendered_new_by_every_worker(two_workers, gis_admin):  # noqa: F811
    check_metadata_seen_at_once(two_workers, [two_workers], gis_admin, "tps_meta_pekerja")


def test_downloads_agree_across_workers(two_workers, gis_admin, unduh_dir, tmp_path):  # noqa: F811
    check_downloads_follow_republish(two_workers, [two_workers], gis_admin, "tps_unduh_pekerja", unduh_dir, tmp_path)
