"""OGC API – Features over the live server: core, CRS (Part 2), CQL2 (Part 3), bad input, OWSLib, geopandas."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pytest

BUNDLED = ["batas_kota", "crosswalk_bps", "gazetteer", "kabkota_sekitar", "kecamatan", "kelurahan", "poi",
           "tetangga_desa_kelurahan"]
UTM = "http://www.opengis.net/def/crs/EPSG/0/32748"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


def test_landing_conformance_api(client):
    r = client.get("/ogc")
    assert r.status_code == 200
    rels = {li["rel"] for li in r.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    for c in ("ogcapi-features-1/1.0/conf/core", "conf/geojson", "conf/html", "conf/oas30",
              "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter", "cql2/1.0/conf/cql2-text",
              "cql2/1.0/conf/cql2-json"):
        assert any(c in u for u in conf), c
    api = client.get("/ogc/api")
    assert api.status_code == 200 and api.json()["openapi"].startswith("3.0")
    assert api.json()["servers"][0]["url"].endswith("/ogc")
    assert {"/collections/{cid}/items", "/collections/kelurahan/items"} <= set(api.json()["paths"])
    assert '"type":"null"' not in api.text.replace(" ", "")
    html = client.get("/ogc", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html") and "<script" not in html.text


def test_collections_have_attribution(client):
    colls = client.get("/ogc/collections").json()["collections"]
    ids = {c["id"] for c in colls}
    assert set(BUNDLED) <= ids
    for c in colls:
        assert c["attribution"], c["id"]
        assert UTM in c["crs"]
    kel = client.get("/ogc/collections/kelurahan").json()
    west, south, east, north = kel["extent"]["spatial"]["bbox"][0]
    assert 106.5 < west < east < 106.8 and -6.3 < south < north < -6.0
    assert "<table>" in client.get("/ogc/collections?f=html").text


def test_items_paging_and_counts(client):
    r = client.get("/ogc/collections/kelurahan/items", params={"limit": 10})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert doc["numberMatched"] == 104 and doc["numberReturned"] == 10
    seen = [f["id"] for f in doc["features"]]
    while nxt := next((li["href"] for li in doc["links"] if li["rel"] == "next"), None):
        doc = client.get(nxt).json()
        seen += [f["id"] for f in doc["features"]]
    assert len(seen) == len(set(seen)) == 104
    assert any(li["rel"] == "prev" for li in doc["links"])
    one = client.get("/ogc/collections/kelurahan/items/36.71.01.1001").json()
    assert one["properties"]["nama"] == "Sukarasa" and one["geometry"]["type"] == "MultiPolygon"
    assert client.get("/ogc/collections/kelurahan/items/nope").status_code == 404


def test_bbox_properties_sortby(client):
    bbox = "106.60,-6.20,106.65,-6.15"
    doc = client.get("/ogc/collections/poi/items", params={"bbox": bbox, "limit": 1000}).json()
    assert 0 < doc["numberReturned"] == doc["numberMatched"] < 423
    for f in doc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 106.60 <= lon <= 106.65 and -6.20 <= lat <= -6.15
    doc = client.get("/ogc/collections/kecamatan/items",
                     params={"properties": "nama,luas_km2", "sortby": "-luas_km2", "limit": 13}).json()
    areas = [f["properties"]["luas_km2"] for f in doc["features"]]
    assert areas == sorted(areas, reverse=True)
    assert set(doc["features"][0]["properties"]) == {"nama", "luas_km2"}
    doc = client.get("/ogc/collections/kecamatan/items", params={"nama": "Cibodas"}).json()
    assert doc["numberMatched"] == 1


def test_crs_part2(client, db):
    r = client.get("/ogc/collections/kelurahan/items/36.71.01.1001", params={"crs": UTM})
    assert r.headers["content-crs"] == f"<{UTM}>"
    x, y = r.json()["geometry"]["coordinates"][0][0][0]
    assert 600_000 < x < 700_000 and 9_300_000 < y < 9_350_000
    r = client.get("/ogc/collections/kelurahan/items/36.71.01.1001", params={"crs": EPSG4326})
    lat, lon = r.json()["geometry"]["coordinates"][0][0][0]
    assert -7 < lat < -6 and 106 < lon < 107  # EPSG:4326 is latitude first
    r = client.get("/ogc/collections/kelurahan/items/36.71.01.1001",
                   params={"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"})
    x, y = r.json()["geometry"]["coordinates"][0][0][0]
    assert 11_800_000 < x < 11_900_000 and -700_000 < y < -600_000
    # the same area asked as a UTM bbox and as a lat/lon EPSG:4326 bbox
    a = client.get("/ogc/collections/poi/items", params={"bbox": "106.60,-6.20,106.65,-6.15", "limit": 1000}).json()
    b = client.get("/ogc/collections/poi/items", params={"bbox": "-6.20,106.60,-6.15,106.65",
                                                         "bbox-crs": EPSG4326, "limit": 1000}).json()
    assert a["numberMatched"] == b["numberMatched"] > 0
    c = client.get("/ogc/collections/poi/items", params={"bbox": "660000,9310000,670000,9320000",
                                                         "bbox-crs": UTM, "limit": 1000}).json()
    # the UTM box holds exactly the POIs whose UTM position falls inside it (PostGIS computes that directly)
    epsg = int(UTM.rsplit("/", 1)[1])
    want = db.execute("SELECT count(*) AS n FROM poi WHERE ST_Intersects(ST_Transform(geom, %s), "
                      "ST_MakeEnvelope(660000, 9310000, 670000, 9320000, %s))", (epsg, epsg)).fetchone()["n"]
    db.rollback()
    assert want > 0 and c["numberMatched"] == want, (c["numberMatched"], want)


def test_cql2_text_and_json(client):
    t = client.get("/ogc/collections/kelurahan/items",
                   params={"filter": "kec_nama = 'Cibodas' AND luas_km2 > 1", "limit": 100}).json()
    assert t["numberMatched"] > 0 and all(f["properties"]["kec_nama"] == "Cibodas" for f in t["features"])
    j = {"op": "and", "args": [{"op": "=", "args": [{"property": "kec_nama"}, "Cibodas"]},
                               {"op": ">", "args": [{"property": "luas_km2"}, 1]}]}
    jj = client.get("/ogc/collections/kelurahan/items",
                    params={"filter": json.dumps(j), "filter-lang": "cql2-json", "limit": 100}).json()
    assert jj["numberMatched"] == t["numberMatched"]
    s = client.get("/ogc/collections/poi/items", params={
        "filter": "S_INTERSECTS(geom, POLYGON((106.60 -6.20, 106.65 -6.20, 106.65 -6.15, 106.60 -6.15, "
                  "106.60 -6.20)))", "limit": 1000}).json()
    bb = client.get("/ogc/collections/poi/items", params={"bbox": "106.60,-6.20,106.65,-6.15", "limit": 1000}).json()
    assert s["numberMatched"] == bb["numberMatched"]
    sj = {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [106.60, -6.20, 106.65, -6.15]}]}
    assert client.get("/ogc/collections/poi/items", params={"filter": json.dumps(sj), "filter-lang": "cql2-json",
                                                           "limit": 1000}).json()["numberMatched"] == s["numberMatched"]
    like = client.get("/ogc/collections/kelurahan/items", params={"filter": "nama LIKE 'Su%'", "limit": 100}).json()
    assert like["numberMatched"] > 0 and all(f["properties"]["nama"].startswith("Su") for f in like["features"])
    inn = client.get("/ogc/collections/kecamatan/items",
                     params={"filter": "nama IN ('Cibodas','Tangerang') AND NOT kode IS NULL"}).json()
    assert inn["numberMatched"] == 2
    q = client.get("/ogc/collections/kelurahan/queryables").json()
    assert q["properties"]["luas_km2"]["type"] == "number" and "geom" in q["properties"]


@pytest.mark.parametrize("path,params,param", [
    ("/ogc/collections/kelurahan/items", {"bbox": "106.7,-6.1,106.6,-6.2"}, "bbox"),
    ("/ogc/collections/kelurahan/items", {"bbox": "200,-6.2,201,-6.1"}, "bbox"),
    ("/ogc/collections/kelurahan/items", {"bbox": "a,b,c,d"}, "bbox"),
    ("/ogc/collections/kelurahan/items", {"limit": "0"}, "limit"),
    ("/ogc/collections/kelurahan/items", {"limit": "-3"}, "limit"),
    ("/ogc/collections/kelurahan/items", {"limit": "many"}, "limit"),
    ("/ogc/collections/kelurahan/items", {"filter": "nama = "}, "filter"),
    ("/ogc/collections/kelurahan/items", {"filter": "nonexistent = 1"}, "filter"),
    ("/ogc/collections/kelurahan/items", {"filter": "nama = 'x'; DROP TABLE kelurahan"}, "filter"),
    ("/ogc/collections/kelurahan/items", {"filter": "{bad json", "filter-lang": "cql2-json"}, "filter"),
    ("/ogc/collections/kelurahan/items", {"filter": '{"op":"=","args":[{"property":["x"]},1]}',
                                          "filter-lang": "cql2-json"}, "filter"),
    ("/ogc/collections/kelurahan/items", {"filter": '{"op":"=","args":[{"property":{"a":1}},1]}',
                                          "filter-lang": "cql2-json"}, "filter"),
    ("/ogc/collections/kelurahan/items", {"filter": "luas_km2 = 'abc'"}, "filter"),
    ("/ogc/collections/kelurahan/items", {"crs": "http://www.opengis.net/def/crs/EPSG/0/2056"}, "crs"),
    ("/ogc/collections/kelurahan/items", {"bbox-crs": "EPSG:9999", "bbox": "1,2,3,4"}, "bbox-crs"),
    ("/ogc/collections/kelurahan/items", {"datetime": "yesterday"}, "datetime"),
    ("/ogc/collections/kelurahan/items", {"sortby": "\"; drop"}, "sortby"),
    ("/ogc/collections/kelurahan/items", {"properties": "nama,secret"}, "properties"),
    ("/ogc/collections/kelurahan/items", {"bogus": "1"}, "bogus"),
    ("/ogc/collections/kelurahan/items", {"f": "xml"}, "f"),
])
def test_bad_input_is_400_naming_the_parameter(client, path, params, param):
    r = client.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["parameter"] == param


def test_table_without_geometry_is_a_collection(client):
    c = client.get("/ogc/collections/crosswalk_bps").json()
    assert c["itemType"] == "feature" and c["geometryType"] is None and c["extent"] == {}
    assert not any("tiles" in li["href"] for li in c["links"])
    doc = client.get("/ogc/collections/crosswalk_bps/items", params={"kode_bps": "3671010", "limit": 5}).json()
    assert doc["numberMatched"] == 1 and doc["features"][0]["geometry"] is None
    assert doc["features"][0]["properties"]["nama_kemendagri"] == "Ciledug"
    cql = client.get("/ogc/collections/crosswalk_bps/items", params={"filter": "nama_kemendagri = 'Kreo'"}).json()
    assert cql["numberMatched"] >= 1
    assert "geom" not in client.get("/ogc/collections/crosswalk_bps/queryables").json()["properties"]
    for path, params, param in [("items", {"bbox": "106.6,-6.2,106.7,-6.1"}, "bbox"),
                                ("items", {"filter": "S_INTERSECTS(geom, POINT(106.6 -6.2))"}, "filter")]:
        r = client.get(f"/ogc/collections/crosswalk_bps/{path}", params=params)
        assert r.status_code == 400 and r.json()["parameter"] == param, r.text
    for tail in ("tiles", "tiles/WebMercatorQuad", "tiles/WebMercatorQuad/tilejson.json",
                 "tiles/WebMercatorQuad/0/0/0"):
        assert client.get(f"/ogc/collections/crosswalk_bps/{tail}").status_code == 404, tail
    assert "crosswalk_bps" not in client.get("/peta").text
    assert client.get("/peta/layer/crosswalk_bps").status_code == 404


def test_unknown_collection_404(client):
    r = client.get("/ogc/collections/kelurahan;drop/items")
    assert r.status_code == 404 and r.json()["parameter"] == "collectionId"
    assert client.get("/ogc/collections/kelurahan\"x/items").status_code == 404
    assert client.get("/ogc/collections/kelurahan", params={"f": "json"}).status_code == 200
    # the table still exists after the hostile filter above
    assert client.get("/ogc/collections/kelurahan/items").json()["numberMatched"] == 104


def test_owslib_client(live_server):
    from owslib.ogcapi.features import Features

    api = Features(live_server.url + "/ogc")
    assert "kelurahan" in [c["id"] for c in api.collections()["collections"]]
    assert api.collection("kecamatan")["attribution"]
    items = api.collection_items("kecamatan", limit=13)
    assert items["numberMatched"] == 13 and len(items["features"]) == 13
    q = api.collection_queryables("kecamatan")
    assert "nama" in q["properties"]
    one = api.collection_item("kelurahan", "36.71.01.1001")
    assert one["properties"]["nama"] == "Sukarasa"


def test_geopandas_round_trip(client):
    r = client.get("/ogc/collections/kecamatan/items", params={"limit": 13})
    gdf = gpd.read_file(io.BytesIO(r.content))
    assert len(gdf) == 13 and gdf.crs.to_epsg() == 4326
    assert set(gdf["nama"]) >= {"Cibodas", "Tangerang"}
    back = json.loads(gdf.to_json())
    assert len(back["features"]) == 13
    area = gdf.to_crs(32748).area.sum() / 1e6
    assert 150 < area < 200  # Kota Tangerang is about 164 km²


def test_html_views_and_odd_ids(client):
    page = client.get("/ogc/collections/kecamatan/items", params={"f": "html", "limit": 3})
    assert page.headers["content-type"].startswith("text/html") and "<table>" in page.text
    one = client.get("/ogc/collections/kelurahan/items/36.71.01.1001", headers={"Accept": "text/html"})
    assert "Sukarasa" in one.text and "<script" not in one.text
    assert client.get("/ogc/collections/kelurahan/items/%00").status_code == 404
    assert client.get("/ogc/collections/kelurahan/items/%27%3B%20DROP").status_code == 404
    r = client.get("/ogc/collections/kelurahan/items", params={"filter": "nama = 'a\x00b'"})
    assert r.status_code == 400 and r.json()["parameter"] == "filter", r.text  # a NUL cannot reach PostgreSQL
    assert client.get("/ogc/collections/kelurahan/items", params={"bbox": "nan,1,2,3"}).status_code == 400
    assert client.get("/ogc/collections/kelurahan/items", params={"sortby": "geom"}).status_code == 400
