"""WFS as XML POST bodies (WFS 2.0 § 7.6.5, 1.1.0 § 13): OWSLib's own POST, request bodies in the shape of the
spec's examples over real HTTP, and hostile bodies (XXE, entity expansion, chunked past the limit) answered with
an OWS ExceptionReport and a 4xx."""

from __future__ import annotations

import json

import httpx
import pytest
from lxml import etree
from owslib.fes2 import Filter, PropertyIsEqualTo
from owslib.wfs import WebFeatureService

WFS = "http://www.opengis.net/wfs/2.0"
OWS11 = "http://www.opengis.net/ows/1.1"
XML = {"Content-Type": "application/xml"}
NS = ('xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:fes="http://www.opengis.net/fes/2.0" '
      'xmlns:gml="http://www.opengis.net/gml/3.2"')


def _getfeature(query: str, attrs: str = "") -> bytes:
    return f'<?xml version="1.0"?>\n<wfs:GetFeature service="WFS" version="2.0.0" {attrs} {NS}>{query}' \
           "</wfs:GetFeature>".encode()


CILEDUG = ('<wfs:Query typeNames="kelurahan"><fes:Filter><fes:PropertyIsEqualTo>'
           "<fes:ValueReference>kec_nama</fes:ValueReference><fes:Literal>Ciledug</fes:Literal>"
           "</fes:PropertyIsEqualTo></fes:Filter></wfs:Query>")


def _count(db, sql: str, *params) -> int:
    return next(iter(db.execute(sql, params).fetchone().values()))


def test_owslib_post_getfeature_with_filter(live_server, db):
    wfs = WebFeatureService(f"{live_server.url}/ows", version="2.0.0", timeout=120)
    flt = etree.tostring(Filter(PropertyIsEqualTo(propertyname="kec_nama", literal="Ciledug")).toXML()).decode()
    resp = wfs.getfeature(typename=["kelurahan"], filter=flt, outputFormat="application/json", method="Post")
    feats = json.loads(resp.read())["features"]
    assert len(feats) == _count(db, "SELECT count(*) FROM kelurahan WHERE kec_nama = %s", "Ciledug") == 8
    assert {f["properties"]["kec_nama"] for f in feats} == {"Ciledug"}


def test_owslib_post_paging_visits_every_feature_once(live_server):
    wfs = WebFeatureService(f"{live_server.url}/ows", version="2.0.0", timeout=120)
    seen: list[str] = []
    for start in range(0, 125, 25):
        resp = wfs.getfeature(typename=["kelurahan"], startindex=start or None, maxfeatures=25,
                              outputFormat="application/json", method="Post")
        seen += [f["properties"]["kode"] for f in json.loads(resp.read())["features"]]
    assert len(seen) == 104 and len(set(seen)) == 104


def test_spec_body_hits(client):
    r = client.post("/ows", content=_getfeature('<wfs:Query typeNames="kelurahan"/>', 'resultType="hits"'),
                    headers=XML)
    assert r.status_code == 200, r.text[:400]
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{WFS}}}FeatureCollection"
    assert root.get("numberMatched") == "104" and root.get("numberReturned") == "0"


def test_spec_body_filter_gml32_count_startindex(client):
    r = client.post("/ows", content=_getfeature(CILEDUG, 'count="3" startIndex="2"'), headers=XML)
    assert r.status_code == 200 and "gml/3.2" in r.headers["content-type"], r.text[:400]
    root = etree.fromstring(r.content)
    assert root.get("numberReturned") == "3"
    names = [e.text for e in root.iter("{*}kec_nama")]
    assert names == ["Ciledug"] * 3


def test_spec_body_bbox_filter_geojson(client, db):
    body = _getfeature('<wfs:Query typeNames="poi"><fes:Filter><fes:BBOX><fes:ValueReference>geom'
                       '</fes:ValueReference><gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326"><gml:lowerCorner>'
                       "-6.20 106.60</gml:lowerCorner><gml:upperCorner>-6.15 106.66</gml:upperCorner></gml:Envelope>"
                       "</fes:BBOX></fes:Filter></wfs:Query>", 'count="1000" outputFormat="application/json"')
    r = client.post("/ows", content=body, headers=XML)
    assert r.status_code == 200, r.text[:400]
    expected = _count(db, "SELECT count(*) FROM poi WHERE geom && ST_MakeEnvelope(106.60, -6.20, 106.66, -6.15, 4326)")
    assert expected > 0 and len(r.json()["features"]) == expected


def test_spec_body_capabilities_and_describe(client):
    caps = client.post("/ows", headers=XML, content=(
        f'<wfs:GetCapabilities service="WFS" {NS} xmlns:ows="{OWS11}"><ows:AcceptVersions><ows:Version>2.0.0'
        "</ows:Version></ows:AcceptVersions></wfs:GetCapabilities>").encode())
    assert caps.status_code == 200
    root = etree.fromstring(caps.content)
    assert root.tag == f"{{{WFS}}}WFS_Capabilities" and root.get("version") == "2.0.0"
    names = {(n.text or "").split(":")[-1] for n in root.iter(f"{{{WFS}}}Name")}
    assert {"kelurahan", "kecamatan", "poi"} <= names
    dft = client.post("/ows", headers=XML, content=(
        f'<wfs:DescribeFeatureType service="WFS" version="2.0.0" {NS}><wfs:TypeName>kelurahan</wfs:TypeName>'
        "</wfs:DescribeFeatureType>").encode())
    assert dft.status_code == 200
    cols = {e.get("name") for e in etree.fromstring(dft.content).iter("{http://www.w3.org/2001/XMLSchema}element")}
    assert {"kode", "nama", "kec_nama"} <= cols


def test_wfs_110_body(client):
    body = ('<wfs:GetFeature service="WFS" version="1.1.0" maxFeatures="2" outputFormat="application/json" '
            'xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc">'
            '<wfs:Query typeName="kecamatan"/></wfs:GetFeature>').encode()
    r = client.post("/ows", content=body, headers=XML)
    assert r.status_code == 200, r.text[:400]
    assert len(r.json()["features"]) == 2


def _report(r: httpx.Response, code: str, status: tuple[int, ...] = (400,)) -> etree._Element:
    assert r.status_code in status, (r.status_code, r.text[:400])
    assert "xml" in r.headers["content-type"]
    root = etree.fromstring(r.content)
    exc = root.find(f"{{{OWS11}}}Exception")
    assert root.tag == f"{{{OWS11}}}ExceptionReport" and exc is not None and exc.get("exceptionCode") == code, r.text
    assert "root:" not in r.text and "password" not in r.text.lower()
    return exc


XXE = (b'<?xml version="1.0"?><!DOCTYPE g [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
       + _getfeature(CILEDUG.replace("Ciledug", "&e;")).split(b"?>", 1)[1])
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>' + _getfeature(CILEDUG.replace("Ciledug", "&c;"))
          .split(b"?>", 1)[1])
BAD = {
    "xxe": (XXE, "OperationParsingFailed"),
    "laughs": (LAUGHS, "OperationParsingFailed"),
    "malformed": (b"<wfs:GetFeature xmlns:wfs='http://www.opengis.net/wfs/2.0'><wfs:Query", "OperationParsingFailed"),
    "unknown_type": (_getfeature('<wfs:Query typeNames="tidak_ada"/>'), "InvalidParameterValue"),
    "no_query": (_getfeature(""), "MissingParameterValue"),
    "bad_column": (_getfeature(CILEDUG.replace(">kec_nama<", ">kec_nama) OR (1=1<")), "InvalidParameterValue"),
    "negative_count": (_getfeature('<wfs:Query typeNames="kelurahan"/>', 'count="-5"'), "InvalidParameterValue"),
    "result_type": (_getfeature('<wfs:Query typeNames="kelurahan"/>', 'resultType="everything"'),
                    "InvalidParameterValue"),
    "transaction": (f'<wfs:Transaction service="WFS" version="2.0.0" {NS}/>'.encode(), "OperationNotSupported"),
    "wms_xml": (b'<GetMap xmlns="http://www.opengis.net/sld" version="1.1.0"/>', "OperationNotSupported"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_hostile_or_wrong_bodies(client, name):
    body, code = BAD[name]
    r = client.post("/ows", content=body, headers=XML)
    _report(r, code)
    assert "root:x:0:0" not in r.text and "aaaaaaaaaaaaaaaaaaaa" not in r.text


def test_chunked_body_past_the_limit(live_server):
    def chunks():
        yield _getfeature("").split(b"</wfs:GetFeature>")[0]
        for _ in range(80):  # 80 x 8 KiB, no Content-Length: the edge counts what arrives
            yield b"<!-- " + b"x" * 8180 + b" -->"

    r = httpx.post(f"{live_server.url}/ows", content=chunks(), headers=XML, timeout=60)
    assert "content-length" not in {k.lower() for k in r.request.headers}  # it really was chunked
    _report(r, "InvalidParameterValue", (413,))


def test_declared_length_past_the_limit(live_server):
    r = httpx.post(f"{live_server.url}/ows", content=b"<" + b"a" * (600 * 1024) + b"/>", headers=XML, timeout=60)
    _report(r, "InvalidParameterValue", (413,))
