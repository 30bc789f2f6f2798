"""Reverse geocoding: the in-memory index against PostGIS, and /geocode/reverse over real HTTP."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo_api.db import connect
from geo_api.geocoding import Geocoder, load_geocoder
from geo_api.geocoding.reverse import DECISIONS, GAP, OVERLAP


@pytest.fixture(scope="module")
def geo(settings) -> Geocoder:
    with connect(settings) as conn:
        return load_geocoder(conn, tolerance_m=30.0, nearest_max_m=25_000.0)


@pytest.fixture(scope="module")
def kel_geoms(settings):
    with connect(settings) as conn:
        rows = conn.execute("SELECT kode, nama, ST_AsBinary(geom) AS wkb FROM kelurahan ORDER BY kode").fetchall()
    return [r["kode"] for r in rows], shapely.from_wkb([bytes(r["wkb"]) for r in rows])


def _random_points(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    return rng.uniform(106.54, 106.76, n), rng.uniform(-6.27, -6.08, n)


def test_grid_answers_equal_exact_path(geo):
    lon, lat = _random_points(50_000)
    fast, exact = geo.reverse.lookup(lon, lat), geo.reverse.exact(lon, lat)
    for name in ("decision", "kelurahan", "tetangga", "kabkota"):
        assert np.array_equal(getattr(fast, name), getattr(exact, name)), name
    both = ~np.isnan(exact.distance_m)
    assert np.allclose(fast.distance_m[both], exact.distance_m[both])


def test_agrees_with_postgis_where_postgis_is_unambiguous(geo, db):
    lon, lat = _random_points(3_000, seed=11)
    rows = db.execute(
        "SELECT p.i, array_agg(k.kode ORDER BY k.kode) FILTER (WHERE k.kode IS NOT NULL) AS kodes "
        "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i) "
        "LEFT JOIN kelurahan k ON ST_Covers(k.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)) "
        "GROUP BY p.i ORDER BY p.i", (lon.tolist(), lat.tolist())).fetchall()
    res = geo.reverse.lookup(lon, lat)
    kodes = [w.kode for w in geo.reverse.kelurahan]
    for r in rows:
        i = r["i"] - 1
        pg = r["kodes"] or []
        dec = DECISIONS[res.decision[i]]
        if len(pg) == 1:
            assert dec == "inside" and kodes[res.kelurahan[i]] == pg[0]
        elif len(pg) > 1:
            assert dec == "overlap" and kodes[res.kelurahan[i]] == min(pg)
        else:
            assert dec not in ("inside", "overlap")


def test_gap_point_goes_to_nearest_kelurahan_within_tolerance(geo, kel_geoms):
    kodes, geoms = kel_geoms
    union = shapely.union_all(geoms)
    holes = [shapely.Polygon(r) for p in shapely.get_parts(union) for r in p.interiors]
    assert holes, "the bundled kelurahan have sliver gaps"
    hole = max(holes, key=lambda h: h.area)
    pt = shapely.maximum_inscribed_circle(hole).coords[0] if hasattr(shapely, "maximum_inscribed_circle") \
        else hole.representative_point().coords[0]
    res = geo.reverse.lookup([pt[0]], [pt[1]])
    assert res.decision[0] == GAP
    assert 0 < res.distance_m[0] <= 30
    to_m = Transformer.from_crs("EPSG:4326", "EPSG:32748", always_xy=True)
    metric = shapely.transform(geoms, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
    dist = shapely.distance(metric, shapely.Point(to_m.transform(*pt)))
    chosen = kodes.index(geo.reverse.kelurahan[res.kelurahan[0]].kode)
    assert dist[chosen] == pytest.approx(dist.min(), abs=1e-6)
    assert res.distance_m[0] == pytest.approx(dist.min(), abs=0.01)


def test_overlap_rule_lowest_kode(geo, kel_geoms):
    kodes, geoms = kel_geoms
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="overlaps")
    i, j = next((i, j) for i, j in zip(a, b, strict=True) if i < j)
    pt = shapely.intersection(geoms[i], geoms[j]).representative_point()
    res = geo.reverse.lookup([pt.x], [pt.y])
    assert res.decision[0] == OVERLAP
    assert geo.reverse.kelurahan[res.kelurahan[0]].kode == min(kodes[i], kodes[j])


def test_http_inside_with_kecamatan_and_kodepos(client, db):
    row = db.execute("SELECT kode, nama, kec_kode, kodepos, label_lat, label_lon FROM kelurahan "
                     "WHERE kode = '36.71.09.1002'").fetchone()
    r = client.get("/geocode/reverse", params={"lat": row["label_lat"], "lon": row["label_lon"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["in_kota_tangerang"] is True and body["decision"] == "inside"
    assert body["kelurahan"] == {"kode": "36.71.09.1002", "nama": "Cibodas Sari"}
    assert body["kecamatan"]["kode"] == row["kec_kode"] and body["kodepos"] == row["kodepos"]
    assert body["kabkota"]["kode"] == "36.71"


def test_http_geojson_feature(client):
    r = client.get("/geocode/reverse", params={"lat": -6.17288, "lon": 106.63185, "f": "geojson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    feat = r.json()
    assert feat["type"] == "Feature" and feat["geometry"]["coordinates"] == [106.63185, -6.17288]
    assert feat["properties"]["kelurahan"]["nama"] == "Sukarasa"


def test_http_outside_names_neighbour_desa_and_kabkota(client, db):
    rows = db.execute(
        "WITH p AS (SELECT ST_PointOnSurface(geom) AS pt FROM tetangga_desa_kelurahan "
        "           WHERE kab_kode IN ('36.03', '36.74', '31.73', '31.74')) "
        "SELECT ST_Y(p.pt) AS lat, ST_X(p.pt) AS lon, t.kode, t.kec_kode, t.kab_kode FROM p "
        "CROSS JOIN LATERAL (SELECT * FROM tetangga_desa_kelurahan t WHERE ST_Covers(t.geom, p.pt) "
        "                    ORDER BY t.kode LIMIT 1) t "
        "WHERE NOT EXISTS (SELECT 1 FROM kelurahan k WHERE ST_Covers(k.geom, p.pt))").fetchall()
    assert len(rows) > 40
    for row in rows:
        body = client.get("/geocode/reverse", params={"lat": row["lat"], "lon": row["lon"]}).json()
        assert body["decision"] == "tetangga" and body["in_kota_tangerang"] is False
        assert body["desa_kelurahan"]["kode"] == row["kode"]
        assert body["kecamatan"]["kode"] == row["kec_kode"] and body["kabkota"]["kode"] == row["kab_kode"]
        assert body["kelurahan"] is None and "Di luar Kota Tangerang" in body["message"]


def test_http_far_away_is_explicit(client):
    near = client.get("/geocode/reverse", params={"lat": -6.25, "lon": 106.93}).json()  # Jakarta Timur
    assert near["decision"] == "nearest_kabkota" and near["kabkota"] and near["distance_m"] > 0
    far = client.get("/geocode/reverse", params={"lat": 0, "lon": 0}).json()
    assert far["decision"] == "outside" and far["kabkota"] is None and far["in_kota_tangerang"] is False
    assert far["message"]


@pytest.mark.parametrize("params, parameter, swap", [
    ({"lat": "106.63", "lon": "-6.17"}, "lat", True),
    ({"lat": "-6.17", "lon": "200"}, "lon", False),
    ({"lat": "nan", "lon": "106.6"}, "lat", False),
    ({"lat": "-6.17", "lon": "abc"}, "lon", False),
    ({"lat": "-6.17"}, "lon", False),
    ({"lat": "inf", "lon": "106.6"}, "lat", False),
])
def test_http_bad_coordinates_are_422_naming_parameter(client, params, parameter, swap):
    r = client.get("/geocode/reverse", params=params)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["parameter"] == parameter
    assert ("swapped" in body["detail"]) is swap
    if swap:
        assert body["suggestion"] == {"lat": -6.17, "lon": 106.63}


def test_http_bad_format(client):
    r = client.get("/geocode/reverse", params={"lat": -6.17, "lon": 106.63, "f": "kml"})
    assert r.status_code == 422 and r.json()["parameter"] == "f"
