"""Two app processes over one cluster answer as one (issue 13): real `satupeta serve` children on free ports.

Fix filters read their state from PostgreSQL, so one device's fixes alternating between the processes are
flagged as one process flags them; a key rotated through the CLI is refused by both at once (tracker keys are
cached, emptied by the `keys` notice); a layer re-published through one is served new by the other (catalog
and tile cache emptied by the `layer` notice). Caches live long here (an hour), so only the notices can
empty them; the test waits for PostgreSQL to deliver the write's notice to its own LISTEN before asking the
other process (the notice reaches every listener at the same commit)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest

from geo_api.notify import CHANNEL
from tests._scale import ROOT, register_device, served
from tests.test_shared_state import expected_flags, fix_sequence

pytestmark = pytest.mark.slow
TILE = morecantile.tms.get("WebMercatorQuad").tile(106.64, -6.18, 13)


def _cli(dsn: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": dsn}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)


@contextlib.contextmanager
def heard(dsn: str, payload: str):
    """LISTEN before the block; after it, wait until PostgreSQL delivered `payload` (the write committed)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield
        for n in conn.notifies(timeout=60):
            if n.payload == payload:
                return
        raise AssertionError(f"no notice {payload!r}")


@pytest.fixture(scope="module")
def two(test_dsn):
    env = {"DATABASE_URL": test_dsn, "SATUPETA_RATELIMIT_ENABLED": "false",
           "SATUPETA_FLEET_TRACKER_KEYS_TTL_S": "3600", "SATUPETA_LAYERS_CATALOG_TTL_S": "3600",
           # explicitly `bound`: keyless devices alternate between processes, a keyed one must send its key
           "SATUPETA_FLEET_TRACKER_AUTH": "bound"}
    with served(env, workers=1) as (a, _), served(env, workers=1) as (b, _):
        with httpx.Client(base_url=a, timeout=60) as ca, httpx.Client(base_url=b, timeout=60) as cb:
            yield ca, cb


def test_one_device_alternating_between_processes_is_flagged_as_by_one(two, db):
    a, b = two
    device = register_device(db)
    t0 = int(time.time()) - 3600
    flags = []
    for k, (t, lat, lon) in enumerate(fix_sequence(t0)):
        r = (a, b)[k % 2].get("/osmand", params={"id": device, "lat": lat, "lon": lon, "timestamp": t})
        assert r.status_code == 200, r.text
    rows = db.execute("SELECT p.flag FROM fleet.position p JOIN fleet.device d ON d.id = p.device_id "
                      "WHERE d.unique_id = %s ORDER BY p.received_at", (device,)).fetchall()
    flags = [r["flag"] for r in rows]
    assert flags == expected_flags()


def test_key_rotated_by_cli_is_refused_by_both_processes(two, db, test_dsn):
    a, b = two
    device = register_device(db)
    r = _cli(test_dsn, "keys", "create", f"tracker-{device}", "--role", "tracker", "--device", device)
    assert r.returncode == 0, r.stderr
    old = r.stdout.strip().splitlines()[-1]
    t = int(time.time()) - 600
    for k, c in enumerate((a, b)):  # both processes cache the tracker keys now
        r = c.get("/osmand", params={"id": device, "lat": -6.2, "lon": 106.6 + k * 1e-4, "timestamp": t + k,
                                     "key": old})
        assert r.status_code == 200, r.text
    with heard(test_dsn, "keys"):
        r = _cli(test_dsn, "keys", "rotate", f"tracker-{device}")
        assert r.returncode == 0, r.stderr
    new = r.stdout.strip().splitlines()[-1]
    for k, c in enumerate((a, b)):
        r = c.get("/osmand", params={"id": device, "lat": -6.2, "lon": 106.6, "timestamp": t + 10 + k, "key": old})
        assert r.status_code == 403, r.text
        r = c.get("/osmand", params={"id": device, "lat": -6.2, "lon": 106.6 + k * 1e-4, "timestamp": t + 20 + k,
                                     "key": new})
        assert r.status_code == 200, r.text


def _roads(n: int, status: str) -> bytes:
    import geopandas as gpd
    from shapely.geometry import LineString

    lines = [LineString([(106.62 + i * 0.005, -6.18), (106.625 + i * 0.005, -6.17)]) for i in range(n)]
    return gpd.GeoDataFrame({"nama": [f"Jalan {i}" for i in range(n)], "status": [status] * n},
                            geometry=lines, crs=4326).to_json().encode()


def test_layer_published_through_one_is_served_by_the_other(two, test_dsn):
    a, b = two
    r = _cli(test_dsn, "keys", "create", "shared-admin", "--role", "gis_admin")
    assert r.returncode == 0, r.stderr
    admin = {"X-API-Key": r.stdout.strip().splitlines()[-1]}
    params = {"title": "Jalan bersama", "opd": "Dinas PUPR", "filename": "jalan.geojson", "id": "jalan_bersama"}
    tile = f"/ogc/collections/jalan_bersama/tiles/WebMercatorQuad/{TILE.z}/{TILE.x}/{TILE.y}"
    assert b.get("/ogc/collections/jalan_bersama/items").status_code == 404  # b's catalog: without the layer
    with heard(test_dsn, "layer:jalan_bersama"):
        assert a.post("/layers", params=params, content=_roads(5, "baik"), headers=admin).status_code == 201
    assert b.get("/ogc/collections/jalan_bersama/items").json()["numberMatched"] == 5
    t1 = b.get(tile)  # b caches this tile now
    assert {f["properties"]["status"] for f in mapbox_vector_tile.decode(t1.content)["jalan_bersama"]["features"]} \
        == {"baik"}
    with heard(test_dsn, "layer:jalan_bersama"):
        assert a.post("/layers", params=params, content=_roads(3, "rusak"), headers=admin).status_code == 201
    items = b.get("/ogc/collections/jalan_bersama/items").json()
    assert items["numberMatched"] == 3 and items["features"][0]["properties"]["status"] == "rusak"
    t2 = b.get(tile)
    assert {f["properties"]["status"] for f in mapbox_vector_tile.decode(t2.content)["jalan_bersama"]["features"]} \
        == {"rusak"}


def test_write_limits_hold_for_both_processes_and_survive_a_restart(test_dsn):
    """Address burst 3, then 1 write per 1000 s: three writes in all, whichever process gets them."""
    env = {"DATABASE_URL": test_dsn, "SATUPETA_RATELIMIT_ADDRESS_BURST": "3",
           "SATUPETA_RATELIMIT_ADDRESS_PER_S": "0.001"}
    explain = {"category": "sampah_menumpuk", "lat": -6.19, "lon": 106.62}
    codes = []
    with served(env, workers=1) as (a, _):
        with served(env, workers=1) as (b, _):
            for k in range(4):
                with httpx.Client(base_url=(a, b)[k % 2], timeout=60) as c:
                    codes.append(c.post("/routing/explain", json=explain).status_code)
    assert codes == [200, 200, 200, 429]
    with served(env, workers=1) as (a2, _), httpx.Client(base_url=a2, timeout=60) as c:  # a restarted process
        r = c.post("/routing/explain", json=explain)
    assert r.status_code == 429 and r.json()["limit"] == "address"
