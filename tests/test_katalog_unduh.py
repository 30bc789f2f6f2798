"""Whole-layer downloads at /unduh: each format re-opened with pyogrio/GDAL has the same features, geometry and
attributes as PostGIS; Shapefiles carry .prj (the CRS asked for), .cpg and a readme of truncated names."""

from __future__ import annotations

import io
import zipfile

import pyogrio
import pytest
import shapely
from pyproj import CRS

from tests.test_katalog_csw import _points, _publish, admin_key  # noqa: F401  (fixture)


def _db_layer(db, table: str, cols: str):
    from psycopg.rows import tuple_row

    with db.cursor(row_factory=tuple_row) as cur:
        return cur.execute(f"SELECT {cols}, ST_AsBinary(geom) FROM {table} ORDER BY 1").fetchall()


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "csv"])
def test_kelurahan_round_trips(client, db, tmp_path, fmt):
    r = client.get(f"/unduh/kelurahan.{fmt}")
    assert r.status_code == 200, r.text
    assert f'filename="kelurahan.{fmt}"' in r.headers["content-disposition"]
    assert "cahyadsn" in r.headers["x-atribusi"]
    path = tmp_path / f"k.{fmt}"
    path.write_bytes(r.content)
    opts = {"GEOM_POSSIBLE_NAMES": "WKT", "KEEP_GEOM_COLUMNS": "NO"} if fmt == "csv" else {}
    gdf = pyogrio.read_dataframe(path, **opts)
    rows = _db_layer(db, "kelurahan", "kode, nama, kec_nama")
    assert len(gdf) == len(rows) == 104
    gdf = gdf.sort_values("kode").reset_index(drop=True)
    assert list(gdf["kode"]) == [r[0] for r in rows]
    assert list(gdf["nama"]) == [r[1] for r in rows]
    assert list(gdf["kec_nama"]) == [r[2] for r in rows]
    for g, r in zip(gdf.geometry, rows, strict=True):
        assert shapely.equals_exact(shapely.normalize(g), shapely.normalize(shapely.from_wkb(r[3])), 1e-6)
    if fmt == "gpkg":
        assert "cahyadsn" in (pyogrio.read_info(path)["layer_metadata"] or {}).get("ATTRIBUTION", "")
    if fmt in ("kml", "geojson"):
        assert "cahyadsn" in path.read_text(encoding="utf-8")[:3000]


@pytest.mark.parametrize("crs", [None, "32748", "EPSG:23891"])
def test_shapefile_zip_has_crs_cpg_and_readme(client, db, tmp_path, crs):
    r = client.get("/unduh/kelurahan.zip", params={"crs": crs} if crs else {})
    assert r.status_code == 200, r.text
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(zf.namelist())
    assert {"kelurahan.shp", "kelurahan.shx", "kelurahan.dbf", "kelurahan.prj", "kelurahan.cpg",
            "kelurahan_BACA.txt"} <= names
    assert zf.read("kelurahan.cpg").strip().upper() in (b"UTF-8", b"UTF8")
    readme = zf.read("kelurahan_BACA.txt").decode("utf-8")
    assert "Lisensi: MIT" in readme and "cahyadsn" in readme
    zf.extractall(tmp_path)
    info = pyogrio.read_info(tmp_path / "kelurahan.shp")
    srid = int((crs or "4326").removeprefix("EPSG:"))
    assert CRS.from_user_input(info["crs"]).equals(CRS.from_epsg(srid))
    assert info["features"] == 104
    gdf = pyogrio.read_dataframe(tmp_path / "kelurahan.shp")
    from psycopg.rows import tuple_row

    with db.cursor(row_factory=tuple_row) as cur:
        projected = cur.execute("SELECT ST_AsBinary(ST_Transform(geom, %s)) FROM kelurahan ORDER BY kode",
                                (srid,)).fetchall()
    gdf = gdf.sort_values("kode").reset_index(drop=True)
    for g, (w,) in zip(gdf.geometry, projected, strict=True):
        assert shapely.equals(g, shapely.from_wkb(w))  # a Shapefile cannot tell Polygon from a 1-part Multi


def test_long_column_names_truncate_predictably(client, admin_key, tmp_path):  # noqa: F811
    import geopandas as gpd
    from shapely.geometry import Point

    gdf = gpd.GeoDataFrame({"kapasitas_harian_m3": [1.0, 2.0], "kapasitas_harian_ton": [3.0, 4.0],
                            "nama": ["A", "B"]}, geometry=[Point(106.63, -6.17), Point(106.64, -6.17)], crs=4326)
    r = _publish(client, admin_key, gdf.to_json().encode(), id="tps_nama_panjang")
    assert r.status_code == 201, r.text
    z = client.get("/unduh/tps_nama_panjang.zip")
    assert z.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(z.content))
    readme = zf.read("tps_nama_panjang_BACA.txt").decode()
    assert "kapasitas_  <-  kapasitas_harian_m3" in readme
    assert "kapasita_1  <-  kapasitas_harian_ton" in readme
    zf.extractall(tmp_path)
    back = pyogrio.read_dataframe(tmp_path / "tps_nama_panjang.shp")
    assert list(back["kapasitas_"]) == [1.0, 2.0] and list(back["kapasita_1"]) == [3.0, 4.0]
    # republished: the download follows the new version at once
    r = _publish(client, admin_key, _points(7), id="tps_nama_panjang")
    assert r.status_code == 201
    g = client.get("/unduh/tps_nama_panjang.geojson")
    path = tmp_path / "v2.geojson"
    path.write_bytes(g.content)
    assert len(pyogrio.read_dataframe(path)) == 7
    # unpublished: 404
    assert client.delete("/layers/tps_nama_panjang", headers={"X-API-Key": admin_key}).status_code == 200
    assert client.get("/unduh/tps_nama_panjang.gpkg").status_code == 404


def test_table_without_geometry(client, tmp_path):
    r = client.get("/unduh/crosswalk_bps.csv")
    assert r.status_code == 200
    assert r.text.count("\n") == 482  # header + 481 rows
    assert client.get("/unduh/crosswalk_bps.zip").status_code == 404


@pytest.mark.parametrize("path,params,status,parameter", [
    ("/unduh/tidak_ada.gpkg", {}, 404, "collectionId"),
    ("/unduh/kelurahan.exe", {}, 404, "name"),
    ("/unduh/..%2Fetc%2Fpasswd.csv", {}, 404, None),
    ("/unduh/kelurahan.geojson", {"crs": "32748"}, 422, "crs"),
    ("/unduh/kelurahan.gpkg", {"crs": "abc"}, 422, "crs"),
    ("/unduh/kelurahan.gpkg", {"crs": "99999"}, 422, "crs"),
])
def test_bad_downloads(client, path, params, status, parameter):
    r = client.get(path, params=params)
    assert r.status_code == status
    if parameter:
        assert r.json().get("parameter") == parameter
