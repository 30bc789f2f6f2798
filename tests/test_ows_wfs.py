"""WFS 2.0 (and 1.1.0) at /ows through OWSLib, against MapServer workers over the test database."""

from __future__ import annotations

import json

import httpx
from lxml import etree
from owslib.fes2 import Filter, PropertyIsEqualTo
from owslib.wfs import WebFeatureService

WFS_NS = "http://www.opengis.net/wfs/2.0"


def _wfs(live_server) -> WebFeatureService:
    return WebFeatureService(f"{live_server.url}/ows", version="2.0.0", timeout=120)


def _count(db, sql: str, *params) -> int:
    return next(iter(db.execute(sql, params).fetchone().values()))


def test_capabilities_list_feature_types(live_server):
    wfs = _wfs(live_server)
    names = {n.split(":")[-1] for n in wfs.contents}
    assert {"kelurahan", "kecamatan", "poi", "batas_kota"} <= names


def test_hits_is_104_for_kelurahan(live_server, db):
    wfs = _wfs(live_server)
    assert _count(db, "SELECT count(*) FROM kelurahan") == 104
    # OWSLib builds the GetFeature request; it has no resultType argument, so hits is appended to its URL
    url = wfs.getGETGetFeatureRequest(typename=["kelurahan"]) + "&RESULTTYPE=hits"
    r = httpx.get(url, timeout=60)
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{WFS_NS}}}FeatureCollection", r.text[:300]
    assert root.get("numberMatched") == "104" and root.get("numberReturned") == "0"


def _page(wfs, start: int, count: int) -> list[dict]:
    resp = wfs.getfeature(typename=["kelurahan"], startindex=start, maxfeatures=count,
                          outputFormat="application/json")
    return json.loads(resp.read())["features"]


def test_paging_visits_every_feature_once(live_server):
    wfs = _wfs(live_server)
    seen: list[str] = []
    start = 0
    while True:
        page = _page(wfs, start, 25)
        if not page:
            break
        seen += [f["properties"]["kode"] for f in page]
        start += 25
    assert len(seen) == 104 and len(set(seen)) == 104


def test_filter_kec_nama_ciledug_gives_8(live_server, db):
    wfs = _wfs(live_server)
    expected = _count(db, "SELECT count(*) FROM kelurahan WHERE kec_nama = %s", "Ciledug")
    assert expected == 8
    flt = PropertyIsEqualTo(propertyname="kec_nama", literal="Ciledug")
    xml = etree.tostring(Filter(flt).toXML()).decode()
    resp = wfs.getfeature(typename=["kelurahan"], filter=xml, outputFormat="application/json")
    feats = json.loads(resp.read())["features"]
    assert len(feats) == expected
    assert {f["properties"]["kec_nama"] for f in feats} == {"Ciledug"}


def test_gml32_default_and_bbox(client, db):
    # lat,lon order for urn EPSG:4326 in WFS 2.0: a box around Sukarasa
    r = client.get("/ows", params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                   "TYPENAMES": "poi", "BBOX": "-6.20,106.60,-6.15,106.66,urn:ogc:def:crs:EPSG::4326",
                                   "COUNT": 1000})
    assert r.status_code == 200 and "gml/3.2" in r.headers["content-type"], r.text[:300]
    root = etree.fromstring(r.content)
    expected = _count(db, "SELECT count(*) FROM poi WHERE geom && ST_MakeEnvelope(106.60, -6.20, 106.66, -6.15, 4326)")
    assert expected > 0
    assert int(root.get("numberReturned")) == expected


def test_describe_feature_type_names_published_attributes(client):
    r = client.get("/ows", params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "DescribeFeatureType",
                                   "TYPENAMES": "kelurahan"})
    assert r.status_code == 200
    names = {e.get("name") for e in etree.fromstring(r.content).iter("{http://www.w3.org/2001/XMLSchema}element")}
    assert {"kode", "nama", "kec_nama", "kodepos"} <= names


def test_wfs_110_maxfeatures(client):
    r = client.get("/ows", params={"SERVICE": "WFS", "VERSION": "1.1.0", "REQUEST": "GetFeature",
                                   "TYPENAME": "kecamatan", "MAXFEATURES": 3, "OUTPUTFORMAT": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["features"]) == 3


def test_wfs_110_gml_pages_follow_the_primary_key(client, db):
    # the bench's request shape (no BBOX, no FILTER): a page deep in the layer is exactly those rows in key order
    want = [r["kode"] for r in db.execute("SELECT kode FROM kelurahan ORDER BY kode OFFSET 37 LIMIT 20").fetchall()]
    r = client.get("/ows", params={"SERVICE": "WFS", "VERSION": "1.1.0", "REQUEST": "GetFeature",
                                   "TYPENAME": "kelurahan", "MAXFEATURES": 20, "STARTINDEX": 37})
    assert r.status_code == 200 and "xml" in r.headers["content-type"], r.text[:300]
    root = etree.fromstring(r.content)
    assert etree.QName(root).localname == "FeatureCollection", r.text[:300]
    got = [e.text for e in root.iter("{http://mapserver.gis.umn.edu/mapserver}kode")]
    assert got == want
