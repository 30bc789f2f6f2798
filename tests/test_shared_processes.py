"""Two app processes over one cluster answer as one (issue 13): real `satupeta serve` children on free ports.

Fix filters read their state from PostgreSQL, so one device's fixes alternating between the processes are
flagged as one process flags them; a key rotated through the CLI is refused by both at once (tracker keys are
cached, emptied by the `keys` notice); a layer re-published through one is served new by the other (catalog
and tile cache emptied by the `layer` notice). Caches live long here (an hour), so only the notices can
empty them; the test waits for PostgreSQL to deliver the write's notice to its own LISTEN before asking the
other process (the notice reaches every listener at the same commit).

The citizen form's bucket (/lapor, SharedBuckets("lapor")), the catalogue's renderings (CSW, Records, portal)
and the download cache (/unduh) are checked with the functions below, here over two processes and in
tests/test_scale_workers.py over `--workers 2`; those checks never wait for a notice: what they read must be
new at once, whichever process answers."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pyogrio
import pytest
from lxml import etree

from geo_api import apikeys
from geo_api.audit import Actor
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


LAPOR_BURST = 3  # the two-process servers' /lapor burst (test_scale_workers uses another: its own bucket)


def katalog_env(download_dir: Path, lapor_burst: int) -> dict[str, str]:
    """Settings for the same-answer checks: one download folder for every process, a tight /lapor bucket
    (lapor_burst, then one per 100 hours), the write limits of the middleware off (they are tested below)."""
    return {"SATUPETA_KATALOG_DOWNLOAD_DIR": str(download_dir), "SATUPETA_LAPOR_BURST": str(lapor_burst),
            "SATUPETA_LAPOR_PER_JAM": "0.01", "SATUPETA_RATELIMIT_ENABLED": "false"}


@pytest.fixture(scope="module")
def download_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("unduh")


@pytest.fixture(scope="module")
def two(test_dsn, download_dir, katalog):
    env = {"DATABASE_URL": test_dsn, "SATUPETA_FLEET_TRACKER_KEYS_TTL_S": "3600",
           "SATUPETA_LAYERS_CATALOG_TTL_S": "3600",
           # explicitly `bound`: keyless devices alternate between processes, a keyed one must send its key
           "SATUPETA_FLEET_TRACKER_AUTH": "bound", **katalog_env(download_dir, LAPOR_BURST)}
    with served(env, workers=1) as (a, _), served(env, workers=1) as (b, _):
        with httpx.Client(base_url=a, timeout=60) as ca, httpx.Client(base_url=b, timeout=60) as cb:
            yield ca, cb


@pytest.fixture(scope="module")
def gis_admin(settings) -> dict[str, str]:
    from geo_api.db import connect

    with connect(settings) as conn:
        key, _ = apikeys.create(conn, Actor("cli", "test-shared"), f"shared-gis-{uuid.uuid4().hex[:6]}", "gis_admin")
    return {"X-API-Key": key}


# ---------------------------------------------------------------- same-answer checks (two processes, N workers)

def fresh(url: str, method: str, path: str, **kw) -> httpx.Response:
    """One request on a new connection: with `--workers N` the kernel picks the worker that accepts it."""
    with httpx.Client(base_url=url, timeout=120, headers={"Connection": "close"}) as c:
        return c.request(method, path, **kw)


def lapor_codes(urls: list[str], n: int, tag: str) -> list[int]:
    """n citizen-form submissions from one address, the k-th through urls[k % len(urls)]; their statuses."""
    token = secrets.token_urlsafe(24)  # the double-submit CSRF token: any well-formed cookie, repeated in the form
    codes = []
    for k in range(n):
        r = fresh(urls[k % len(urls)], "POST", "/lapor", headers={"Cookie": f"lapor_csrf={token}"}, data={
            "service_code": "jalan_rusak", "lat": "-6.18994", "long": "106.62483", "csrf": token,
            "description": f"Lubang besar (SINTETIS) {tag} {k}", "first_name": "Warga Uji", "phone": "081200001111"})
        assert r.status_code in (200, 429), r.text[:300]
        if r.status_code == 429:
            assert "Terlalu banyak laporan" in r.text and f"{tag} {k}" in r.text  # the form again, as typed
        codes.append(r.status_code)
    return codes


def _tps(n: int, x0: float = 106.63) -> bytes:
    import geopandas as gpd
    from shapely.geometry import Point

    return gpd.GeoDataFrame({"nama_tps": [f"TPS {i}" for i in range(n)]},
                            geometry=[Point(x0 + i * 1e-5, -6.17) for i in range(n)], crs=4326).to_json().encode()


def _mcf(abstract: str, purpose: str) -> bytes:
    return f"""mcf: {{version: 1.0}}
metadata: {{identifier: x}}
identification:
  title: TPS
  abstract: {abstract}
  purpose: {purpose}
  topiccategory: [utilitiesCommunication]
  maintenancefrequency: monthly
  rights: DLH
  license: {{name: CC-BY-4.0, url: 'https://creativecommons.org/licenses/by/4.0/'}}
  keywords:
    kugi: {{keywords: [SARANAPERSAMPAHAN_PT], vocabulary: {{name: KUGI}}}}
    tema: {{keywords: [sampah]}}
spatial: {{scale: 1000}}
dataquality: {{lineage: {{statement: Digitasi citra 2025 (SINTETIS)}}}}
contact: {{pointOfContact: {{organization: DLH, email: dlh@tangerangkota.go.id}}}}
""".encode()


GMD = "http://www.isotc211.org/2005/gmd"
NS = {"gmd": GMD, "gco": "http://www.isotc211.org/2005/gco"}


def _metadata_views(url: str, cid: str, word: str) -> dict[str, str]:
    """What one process says of a layer's record: ISO purpose and abstract (CSW), the Records item, the portal
    page, and whether the portal's search for `word` lists it."""
    r = fresh(url, "GET", "/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecordById",
                                          "id": f"36.71:{cid}", "outputSchema": GMD, "elementSetName": "full"})
    assert r.status_code == 200, r.text[:300]
    iso = etree.fromstring(r.content)
    item = fresh(url, "GET", f"/ogc/collections/katalog/items/{cid}")
    page = fresh(url, "GET", f"/peta/katalog/{cid}")
    found = fresh(url, "GET", "/peta/katalog", params={"q": word})
    assert item.status_code == page.status_code == found.status_code == 200
    return {"purpose": " ".join(iso.xpath("//gmd:purpose/gco:CharacterString/text()", namespaces=NS)),
            "abstract": " ".join(iso.xpath("//gmd:abstract/gco:CharacterString/text()", namespaces=NS)),
            "item": item.text, "page": page.text, "listed": str(f"/peta/katalog/{cid}" in found.text)}


def check_metadata_seen_at_once(write: str, reads: list[str], admin: dict[str, str], cid: str) -> None:
    """A record revised through `write` is rendered revised at once by every process of `reads`, each of which
    rendered (and cached) the old record just before."""
    tag = uuid.uuid4().hex[:8]
    r = fresh(write, "POST", "/layers", params={"title": "TPS bersama", "opd": "Dinas Lingkungan Hidup",
                                                "filename": "tps.geojson", "id": cid}, content=_tps(3), headers=admin)
    assert r.status_code == 201, r.text
    first = (f"Abstrak pertama {tag}", f"Tujuan pertama {tag}", f"pertama{tag}")
    second = (f"Abstrak kedua {tag}", f"Tujuan kedua {tag}", f"kedua{tag}")
    for abstract, purpose, word in (first, second):
        r = fresh(write, "PUT", f"/layers/{cid}/metadata", content=_mcf(f"{abstract} {word}", purpose),
                  headers={**admin, "Content-Type": "application/yaml"})
        assert r.status_code == 200, r.text
        for url in reads:
            for _ in range(3):  # more than one connection: with N workers, more than one of them renders it
                seen = _metadata_views(url, cid, word)
                assert seen["purpose"] == purpose and seen["abstract"] == f"{abstract} {word}", (url, seen)
                assert abstract in seen["item"] and abstract in seen["page"] and seen["listed"] == "True"
    for url in reads:  # nothing of the first revision is left anywhere
        seen = _metadata_views(url, cid, first[2])
        assert first[0] not in seen["item"] + seen["page"] and seen["listed"] == "False", url


def _features(body: bytes, tmp: Path) -> list[str]:
    path = tmp / f"{uuid.uuid4().hex}.gpkg"
    path.write_bytes(body)
    return list(pyogrio.read_dataframe(path)["nama_tps"])


def _downloads(urls: list[str], cid: str) -> list[httpx.Response]:
    """The same download asked of every url at once (two per url), each on its own connection."""
    with ThreadPoolExecutor(max_workers=2 * len(urls)) as pool:
        answers = list(pool.map(lambda u: fresh(u, "GET", f"/unduh/{cid}.gpkg"), [*urls, *urls]))
    for r in answers:
        assert r.status_code == 200, r.text[:300]
    return answers


def check_downloads_follow_republish(write: str, reads: list[str], admin: dict[str, str], cid: str,
                                     folder: Path, tmp: Path) -> None:
    """First downloads asked of every process at once build one file (one ETag, every answer whole); after a
    re-publish through `write` every process serves the new version at once, and the old file is gone."""
    params = {"title": "TPS unduh", "opd": "Dinas Lingkungan Hidup", "filename": "tps.geojson", "id": cid}
    r = fresh(write, "POST", "/layers", params=params, content=_tps(3000), headers=admin)
    assert r.status_code == 201, r.text
    first = _downloads(reads, cid)
    assert len({r.headers["etag"] for r in first}) == 1  # one build: every process served the same file
    for r in first:
        assert len(_features(r.content, tmp)) == 3000
    assert len(list(folder.glob(f"{cid}__*.gpkg"))) == 1
    r = fresh(write, "POST", "/layers", params=params, content=_tps(7, x0=106.7), headers=admin)
    assert r.status_code == 201, r.text
    second = _downloads(reads, cid)  # at once: no waiting for the change notice
    assert len({r.headers["etag"] for r in second}) == 1 and second[0].headers["etag"] != first[0].headers["etag"]
    for r in second:
        assert _features(r.content, tmp) == [f"TPS {i}" for i in range(7)]
    files = list(folder.glob(f"{cid}__*.gpkg"))
    assert len(files) == 1 and files[0].stat().st_size == len(second[0].content)
    assert not list(folder.glob(f".{cid}-*"))  # no half-written file left


def test_lapor_bucket_holds_across_processes(two):
    a, b = (str(c.base_url) for c in two)
    assert lapor_codes([a, b], LAPOR_BURST + 1, uuid.uuid4().hex[:6]) == [200] * LAPOR_BURST + [429]
    # and the next one too, through the process that has not refused yet
    assert lapor_codes([(a, b)[(LAPOR_BURST + 1) % 2]], 1, uuid.uuid4().hex[:6]) == [429]


def test_metadata_revised_through_one_is_rendered_new_by_both(two, gis_admin):
    a, b = (str(c.base_url) for c in two)
    check_metadata_seen_at_once(a, [b, a], gis_admin, "tps_meta_bersama")


def test_downloads_agree_across_processes(two, gis_admin, download_dir, tmp_path):
    a, b = (str(c.base_url) for c in two)
    check_downloads_follow_republish(a, [a, b], gis_admin, "tps_unduh_bersama", download_dir, tmp_path)


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
