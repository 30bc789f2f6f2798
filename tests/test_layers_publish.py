"""Publishing OPD layers: POST /layers and the CLI, versions, restore, unpublish, hostile uploads."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import morecantile
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from geo_api.settings import Settings

TILE = morecantile.tms.get("WebMercatorQuad").tile(106.64, -6.18, 13)


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def admin_key(settings) -> str:
    r = _cli(settings, "keys", "create", "dinas-pupr-test", "--role", "gis_admin")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("sp_")
    return key


@pytest.fixture(scope="module")
def viewer_key(settings) -> str:
    r = _cli(settings, "keys", "create", "viewer-test", "--role", "viewer")
    return r.stdout.strip().splitlines()[-1]


def _roads(n: int = 5, status: str = "baik") -> gpd.GeoDataFrame:
    lines = [LineString([(106.62 + i * 0.005, -6.18), (106.625 + i * 0.005, -6.17)]) for i in range(n)]
    return gpd.GeoDataFrame({"Nama Jalan": [f"Jalan {i}" for i in range(n)], "status": [status] * n,
                             "lebar_m": [5.5 + i for i in range(n)]}, geometry=lines, crs=4326)


def _geojson_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    return gdf.to_json().encode()


def _post(client, key: str | None, body: bytes, **params):
    headers = {"X-API-Key": key} if key else {}
    params = {"title": "Jalan kota", "opd": "Dinas PUPR", "filename": "jalan.geojson", **params}
    return client.post("/layers", params=params, content=body, headers=headers)


def test_auth_required(client, viewer_key):
    body = _geojson_bytes(_roads())
    assert _post(client, None, body, id="jalan_noauth").status_code == 401
    assert _post(client, "sp_wrong", body, id="jalan_noauth").status_code == 401
    assert _post(client, viewer_key, body, id="jalan_noauth").status_code == 403
    assert client.get("/ogc/collections/jalan_noauth").status_code == 404


def test_publish_versions_restore_unpublish(client, admin_key, db, live_server):
    r = _post(client, admin_key, _geojson_bytes(_roads(5, "baik")), id="jalan_kota", licence="CC-BY-4.0",
              attribution="Dinas PUPR Kota Tangerang")
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1 and r.json()["feature_count"] == 5
    coll = client.get("/ogc/collections/jalan_kota").json()
    assert coll["attribution"] == "Dinas PUPR Kota Tangerang" and coll["opd"] == "Dinas PUPR"
    items = client.get("/ogc/collections/jalan_kota/items").json()
    assert items["numberMatched"] == 5
    assert items["features"][0]["properties"]["nama_jalan"].startswith("Jalan")
    # the contract other engineers read: published."<id>" with fid, geom (4326) and the attributes
    row = db.execute('SELECT fid, ST_SRID(geom) AS srid, status FROM published."jalan_kota" ORDER BY fid LIMIT 1'
                     ).fetchone()
    assert row == {"fid": 1, "srid": 4326, "status": "baik"}
    db.rollback()  # a reader's open transaction would hold the view (publishing then waits, then gives up)
    url = f"/ogc/collections/jalan_kota/tiles/WebMercatorQuad/{TILE.z}/{TILE.x}/{TILE.y}"
    t1 = client.get(url)
    assert len(mapbox_vector_tile.decode(t1.content)["jalan_kota"]["features"]) > 0

    r = _post(client, admin_key, _geojson_bytes(_roads(3, "rusak")), id="jalan_kota")
    assert r.json()["version"] == 2
    items = client.get("/ogc/collections/jalan_kota/items").json()
    assert items["numberMatched"] == 3 and items["features"][0]["properties"]["status"] == "rusak"
    t2 = client.get(url)
    assert t2.headers["etag"] != t1.headers["etag"]  # the tile cache follows the new version
    feats = mapbox_vector_tile.decode(t2.content)["jalan_kota"]["features"]
    assert {f["properties"]["status"] for f in feats} == {"rusak"}

    r = client.post("/layers/jalan_kota/restore", params={"version": 1}, headers={"X-API-Key": admin_key})
    assert r.status_code == 200, r.text
    assert client.get("/ogc/collections/jalan_kota/items").json()["numberMatched"] == 5
    listed = client.get("/layers/jalan_kota", headers={"X-API-Key": admin_key}).json()
    assert listed["current_version"] == 1 and [v["version"] for v in listed["versions"]] == [2, 1]

    from owslib.ogcapi.features import Features

    api = Features(live_server.url + "/ogc")
    assert "jalan_kota" in [c["id"] for c in api.collections()["collections"]]
    assert len(api.collection_items("jalan_kota", limit=10)["features"]) == 5
    gdf = gpd.read_file(io.BytesIO(client.get("/ogc/collections/jalan_kota/items").content))
    assert len(gdf) == 5 and set(gdf["status"]) == {"baik"}

    assert client.delete("/layers/jalan_kota", headers={"X-API-Key": admin_key}).status_code == 200
    assert client.get("/ogc/collections/jalan_kota").status_code == 404
    assert client.get(url).status_code == 404
    assert client.post("/layers/jalan_kota/restore", params={"version": 2},
                       headers={"X-API-Key": admin_key}).status_code == 200
    assert client.get("/ogc/collections/jalan_kota/items").json()["numberMatched"] == 3


def test_geometry_repair_and_rejection_report(client, admin_key):
    bowtie = Polygon([(106.60, -6.20), (106.62, -6.18), (106.62, -6.20), (106.60, -6.18), (106.60, -6.20)])
    good = Point(106.63, -6.17).buffer(0.005)
    far = Polygon([(500, 500), (501, 500), (501, 501), (500, 500)])
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nama": "bowtie"}, "geometry": shapely.geometry.mapping(bowtie)},
        {"type": "Feature", "properties": {"nama": "good"}, "geometry": shapely.geometry.mapping(good)},
        {"type": "Feature", "properties": {"nama": "none"}, "geometry": None},
        {"type": "Feature", "properties": {"nama": "far"}, "geometry": shapely.geometry.mapping(far)},
    ]}
    r = _post(client, admin_key, json.dumps(fc).encode(), id="tps_liar")
    assert r.status_code == 201, r.text
    rep = r.json()["report"]
    assert rep["published"] == 2 and rep["repaired_count"] == 1 and rep["rejected_count"] == 2
    assert {x["feature"] for x in rep["rejected"]} == {2, 3}
    items = client.get("/ogc/collections/tps_liar/items").json()
    assert {f["properties"]["nama"] for f in items["features"]} == {"bowtie", "good"}
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in items["features"])


def test_hostile_attribute_names(client, admin_key, db):
    props = {"\"; DROP TABLE kelurahan; --": "a", "fid": 7, "geom": "x", "Nama Jalan": "b", "nama_jalan": "c",
             "Lébar (m)": 3.5, "end": "kata kunci", "order": 1}
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [106.63, -6.17]}}]}
    r = _post(client, admin_key, json.dumps(fc).encode(), id="aneh")
    assert r.status_code == 201, r.text
    cols = {c["source"]: c["column"] for c in r.json()["report"]["columns"]}
    assert cols["fid"] == "fid_asli" and cols["geom"] == "geom_asli" and cols["Lébar (m)"] == "lebar_m"
    assert cols["Nama Jalan"] != cols["nama_jalan"]
    assert all(c.replace("_", "").isalnum() and c.islower() for c in cols.values())
    f = client.get("/ogc/collections/aneh/items").json()["features"][0]
    assert f["properties"]["end"] == "kata kunci" and f["properties"]["order"] == 1
    assert client.get("/ogc/collections/aneh/items", params={"filter": "\"order\" = 1"}).json()["numberMatched"] == 1
    assert client.get("/ogc/collections/aneh/items", params={"sortby": "-end"}).status_code == 200
    assert db.execute("SELECT count(*) AS n FROM kelurahan").fetchone()["n"] == 104


def _shapefile_zip(tmp_path: Path, *, prj: bool = True, crs: int = 32748, extra: dict | None = None) -> bytes:
    gdf = gpd.GeoDataFrame({"nama": ["TPS A", "TPS B"]},
                           geometry=[Point(106.63, -6.17), Point(106.64, -6.18)], crs=4326).to_crs(crs)
    folder = tmp_path / f"shp_{crs}_{prj}"
    folder.mkdir()
    gdf.to_file(folder / "tps.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in folder.iterdir():
            if prj or p.suffix != ".prj":
                zf.write(p, f"data/{p.name}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_shapefile_utm_is_reprojected(client, admin_key, tmp_path):
    r = _post(client, admin_key, _shapefile_zip(tmp_path), id="tps_resmi", filename="tps.zip")
    assert r.status_code == 201, r.text
    assert "32748" in r.json()["report"]["source_crs"]
    f = client.get("/ogc/collections/tps_resmi/items", params={"sortby": "nama"}).json()["features"][0]
    lon, lat = f["geometry"]["coordinates"][0]
    assert abs(lon - 106.63) < 1e-6 and abs(lat + 6.17) < 1e-6


def test_gpkg_and_csv(client, admin_key, tmp_path):
    path = tmp_path / "sekolah.gpkg"
    gpd.GeoDataFrame({"nama": ["SDN 1", "SDN 2"], "murid": [300, 250]},
                     geometry=[Point(106.63, -6.17), Point(106.64, -6.18)], crs=4326).to_crs(3857).to_file(path)
    r = _post(client, admin_key, path.read_bytes(), id="sekolah", filename="sekolah.gpkg")
    assert r.status_code == 201, r.text
    q = client.get("/ogc/collections/sekolah/items", params={"filter": "murid > 260"}).json()
    assert q["numberMatched"] == 1 and q["features"][0]["properties"]["nama"] == "SDN 1"
    csv = "nama,lon,lat\nPos 1,106.63,-6.17\nPos 2,106.64,-6.18\nRusak,abc,\n".encode()
    r = _post(client, admin_key, csv, id="pos_ronda", filename="pos.csv")
    assert r.status_code == 201, r.text
    assert r.json()["report"]["published"] == 2 and r.json()["report"]["rejected_count"] == 1


def _assert_refused(r, status: int, words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert words.lower() in r.json()["detail"].lower(), r.json()["detail"]


def test_hostile_uploads_publish_nothing(client, admin_key, tmp_path):
    ok = _post(client, admin_key, _geojson_bytes(_roads(4)), id="drainase")
    assert ok.status_code == 201
    before = client.get("/ogc/collections/drainase/items").json()["numberMatched"]

    _assert_refused(_post(client, admin_key, _shapefile_zip(tmp_path, prj=False), id="drainase",
                          filename="d.zip"), 422, ".prj")
    _assert_refused(_post(client, admin_key, _shapefile_zip(tmp_path, crs=3857, extra={"../../evil.txt": "x"}),
                          id="drainase", filename="d.zip"), 422, "outside the archive")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.shp", b"\0" * (60 << 20))
    _assert_refused(_post(client, admin_key, bomb.getvalue(), id="drainase", filename="d.zip"), 422, "zip bomb")
    wide = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [106.63, -6.17]}, "properties": {f"k{i}": i for i in range(10_000)}}]}
    _assert_refused(_post(client, admin_key, json.dumps(wide).encode(), id="drainase"), 422, "columns")
    _assert_refused(_post(client, admin_key, b"hello", id="drainase", filename="d.txt"), 400, "format")
    _assert_refused(_post(client, admin_key, b'{"type": "FeatureCollection"}', id="drainase",
                          filename="d.gpkg"), 400, "not a valid gpkg")
    _assert_refused(_post(client, admin_key, b"{not json", id="drainase"), 422, "cannot be read")
    _assert_refused(_post(client, admin_key, b"x" * ((50 << 20) + 10), id="drainase"), 413, "larger")
    _assert_refused(_post(client, admin_key, _geojson_bytes(_roads()), id="Robert'); DROP TABLE--"), 422, "id")
    _assert_refused(_post(client, admin_key, _geojson_bytes(_roads()), id="kelurahan"), 422, "bundled")

    assert client.get("/ogc/collections/drainase/items").json()["numberMatched"] == before
    assert client.get("/layers/drainase", headers={"X-API-Key": admin_key}).json()["current_version"] == 1


def test_cli_publish_list_restore_unpublish(settings, client, tmp_path):
    path = tmp_path / "saluran.geojson"
    path.write_bytes(_geojson_bytes(_roads(2)))
    r = _cli(settings, "layers", "publish", str(path), "--id", "saluran", "--title", "Saluran", "--opd", "DPUPR")
    assert r.returncode == 0, r.stderr
    assert "version 1" in r.stderr
    r = _cli(settings, "layers", "publish", str(path), "--id", "saluran", "--title", "Saluran", "--opd", "DPUPR")
    assert "version 2" in r.stderr
    listed = _cli(settings, "layers", "list")
    assert "saluran" in listed.stdout
    assert _cli(settings, "layers", "restore", "saluran", "--version", "1").returncode == 0
    assert _cli(settings, "layers", "unpublish", "saluran").returncode == 0
    bad = _cli(settings, "layers", "restore", "saluran", "--version", "9")
    assert bad.returncode != 0 and "no version 9" in bad.stderr and "Traceback" not in bad.stderr
    missing = tmp_path / "nope.zip"
    missing.write_bytes(b"PK\x03\x04garbage")
    bad = _cli(settings, "layers", "publish", str(missing), "--id", "x_nope", "--title", "x", "--opd", "y")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_datetime_on_a_published_temporal_column(client, admin_key):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nama": n, "tanggal": d},
         "geometry": {"type": "Point", "coordinates": [106.63, -6.17]}}
        for n, d in (("lama", "2023-03-01T08:00:00Z"), ("baru", "2024-06-01T08:00:00Z"))]}
    r = _post(client, admin_key, json.dumps(fc).encode(), id="kejadian")
    assert r.status_code == 201, r.text
    got = client.get("/ogc/collections/kejadian/items", params={"datetime": "2024-01-01T00:00:00Z/.."}).json()
    assert [f["properties"]["nama"] for f in got["features"]] == ["baru"]
    got = client.get("/ogc/collections/kejadian/items",
                     params={"filter": "tanggal < TIMESTAMP('2024-01-01T00:00:00Z')"}).json()
    assert [f["properties"]["nama"] for f in got["features"]] == ["lama"]


def test_layer_read_by_another_module_keeps_working(client, admin_key, db):
    assert _post(client, admin_key, _geojson_bytes(_roads(2)), id="jalan_rute").status_code == 201
    db.execute('CREATE VIEW public.rute_test AS SELECT fid, status FROM published."jalan_rute"')
    db.commit()
    # same columns: the new version replaces the view in place, the dependent view follows it
    assert _post(client, admin_key, _geojson_bytes(_roads(6, "rusak")), id="jalan_rute").status_code == 201
    assert db.execute("SELECT count(*) AS n FROM public.rute_test WHERE status = 'rusak'").fetchone()["n"] == 6
    db.rollback()
    other = gpd.GeoDataFrame({"lain": [1]}, geometry=[LineString([(106.6, -6.2), (106.61, -6.19)])], crs=4326)
    r = _post(client, admin_key, _geojson_bytes(other), id="jalan_rute")
    assert r.status_code == 422 and "used by" in r.json()["detail"]
    r = client.delete("/layers/jalan_rute", headers={"X-API-Key": admin_key})
    assert r.status_code == 422
    assert client.get("/ogc/collections/jalan_rute/items").json()["numberMatched"] == 6
    db.execute("DROP VIEW public.rute_test")
    db.commit()


def test_unpublished_in_another_process_is_404_not_500(settings, client, admin_key):
    assert _post(client, admin_key, _geojson_bytes(_roads(2)), id="halte").status_code == 201
    url = f"/ogc/collections/halte/tiles/WebMercatorQuad/{TILE.z}/{TILE.x}/{TILE.y}"
    assert client.get("/ogc/collections/halte/items").status_code == 200
    assert _cli(settings, "layers", "unpublish", "halte").returncode == 0
    # the server's cached catalog still lists the layer: the vanished view makes it reload, not fail
    assert client.get("/ogc/collections/halte/items").status_code == 404
    assert client.get(url).status_code == 404
