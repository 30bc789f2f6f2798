"""OGC API - Records: the catalogue as collection `katalog` (itemType record), searchable by q, bbox, datetime,
type and keywords; OGC collections link their downloads and records."""

from __future__ import annotations

import pytest

ID = "36.71:kelurahan"


def _items(client, **params):
    r = client.get("/ogc/collections/katalog/items", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    return r.json()


def test_collection_and_conformance(client):
    doc = client.get("/ogc/collections/katalog").json()
    assert doc["itemType"] == "record"
    west, south, east, north = doc["extent"]["spatial"]["bbox"][0]
    assert west < 106.6 and east > 106.7
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core" in conf
    landing = client.get("/ogc").json()
    assert any(li["href"].endswith("/ogc/collections/katalog") for li in landing["links"])


def test_search_by_q_bbox_type_keywords_datetime(client):
    ids = [f["id"] for f in _items(client, q="kelurahan", limit=50)["features"]]
    assert ID in ids
    assert "36.71:gazetteer" not in _ids(client, q="kelurahan")
    assert ID in _ids(client, q="tidakada,kelurahan")  # any of the terms
    assert ID in _ids(client, bbox="106.6,-6.25,106.7,-6.15")
    assert ID not in _ids(client, bbox="140,-5,141,-4")
    assert ID in _ids(client, type="dataset") and _ids(client, type="service") == []
    assert ID in _ids(client, keywords="ADMINISTRASIDESA_AR")
    assert ID in _ids(client, datetime="2000-01-01T00:00:00Z/..")
    assert _ids(client, datetime="../2000-01-01T00:00:00Z") == []
    assert _ids(client, q="100%") == []  # % is a literal, not a wildcard


def _ids(client, **params):
    return [f["id"] for f in _items(client, limit=100, **params)["features"]]


def test_paging(client):
    first = _items(client, limit=3)
    total = first["numberMatched"]
    seen = [f["id"] for f in first["features"]]
    doc = first
    while nxt := next((li["href"] for li in doc["links"] if li["rel"] == "next"), None):
        doc = client.get(nxt).json()
        seen += [f["id"] for f in doc["features"]]
    assert len(seen) == len(set(seen)) == total >= 8


def test_one_record(client):
    r = client.get(f"/ogc/collections/katalog/items/{ID}")
    assert r.status_code == 200
    rec = r.json()
    assert rec["id"] == ID and rec["type"] == "Feature"
    assert rec["properties"]["title"] == "Kelurahan Kota Tangerang"
    assert any(li["href"].endswith("/unduh/kelurahan.gpkg") for li in rec["links"])
    assert client.get("/ogc/collections/katalog/items/kelurahan").json()["id"] == ID
    assert client.get("/ogc/collections/katalog/items/tidak_ada").status_code == 404


def test_collections_link_downloads_and_metadata(client):
    kel = client.get("/ogc/collections/kelurahan").json()
    rels = {(li["rel"], li["href"].rsplit("/", 1)[-1]) for li in kel["links"]}
    assert ("enclosure", "kelurahan.gpkg") in rels and ("enclosure", "kelurahan.zip") in rels
    assert ("describedby", "kelurahan") in rels
    cross = client.get("/ogc/collections/crosswalk_bps").json()
    assert not any(li["href"].endswith(".zip") for li in cross["links"])


@pytest.mark.parametrize("params,parameter", [
    ({"bogus": "1"}, "bogus"), ({"bbox": "1,2,3"}, "bbox"), ({"limit": "0"}, "limit"),
    ({"datetime": "kemarin"}, "datetime"), ({"offset": "-1"}, "offset"),
])
def test_bad_parameters(client, params, parameter):
    r = client.get("/ogc/collections/katalog/items", params=params)
    assert r.status_code == 400
    assert r.json()["parameter"] == parameter


def test_wms_wfs_links_exactly_when_the_app_serves_ows(client):
    serves_ows = any(p.startswith("/ows") for p in client.get("/openapi.json").json()["paths"])
    links = [li["href"] for li in client.get(f"/ogc/collections/katalog/items/{ID}").json()["links"]]
    assert any("/ows?service=WMS" in h for h in links) == serves_ows
    assert any("/ows?service=WFS" in h for h in links) == serves_ows
