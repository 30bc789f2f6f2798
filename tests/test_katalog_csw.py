"""The node's CSW 2.0.2 catalogue through OWSLib's CatalogueServiceWeb (unchanged), plus raw KVP/XML requests:
records of bundled and published layers, ISO 19139 read back by OWSLib's MD_Metadata, OWS exceptions."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import geopandas as gpd
import pytest
from lxml import etree
from owslib import fes
from owslib.csw import CatalogueServiceWeb
from owslib.iso import MD_Metadata
from shapely.geometry import Point

from geo_api.settings import Settings

GMD = "http://www.isotc211.org/2005/gmd"
OWS = "{http://www.opengis.net/ows}"


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def admin_key(settings) -> str:
    r = _cli(settings, "keys", "create", f"katalog-test-{uuid.uuid4().hex[:8]}", "--role", "gis_admin")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def csw(live_server) -> CatalogueServiceWeb:
    return CatalogueServiceWeb(f"{live_server.url}/csw", timeout=60)


def _points(n: int, x0: float = 106.63) -> bytes:
    gdf = gpd.GeoDataFrame({"nama_tps": [f"TPS {i}" for i in range(n)], "kapasitas_m3": [6.0 + i for i in range(n)]},
                           geometry=[Point(x0 + i * 0.001, -6.17) for i in range(n)], crs=4326)
    return gdf.to_json().encode()


def _publish(client, key, body: bytes, **params):
    params = {"title": "TPS sementara", "opd": "Dinas Lingkungan Hidup", "filename": "tps.geojson", **params}
    return client.post("/layers", params=params, content=body, headers={"X-API-Key": key})


def test_capabilities_carry_the_node_identity(csw, settings):
    assert csw.identification.type == "CSW"
    assert csw.identification.version == "2.0.2"
    assert settings.katalog_kode_simpul in csw.identification.abstract
    assert csw.provider.name == settings.katalog_contact_org
    assert csw.provider.contact.email == settings.katalog_contact_email
    ops = {op.name for op in csw.operations}
    assert {"GetCapabilities", "DescribeRecord", "GetRecords", "GetRecordById"} <= ops


def test_getrecords_by_keyword_and_bbox_finds_kelurahan(csw, settings):
    csw.getrecords2(constraints=[fes.PropertyIsLike("csw:AnyText", "%kelurahan%")], esn="full", maxrecords=50)
    ids = set(csw.records)
    assert f"{settings.katalog_kode_simpul}:kelurahan" in ids
    assert csw.results["matches"] >= 1
    rec = csw.records[f"{settings.katalog_kode_simpul}:kelurahan"]
    assert rec.title == "Kelurahan Kota Tangerang"
    assert "ADMINISTRASIDESA_AR" in rec.subjects
    assert any("/unduh/kelurahan.gpkg" in r["url"] for r in rec.references)
    # bbox over the city finds it; a bbox over Papua does not
    csw.getrecords2(constraints=[fes.BBox([106.60, -6.25, 106.70, -6.15])], maxrecords=50)
    assert f"{settings.katalog_kode_simpul}:kelurahan" in csw.records
    csw.getrecords2(constraints=[fes.BBox([140.0, -5.0, 141.0, -4.0])], maxrecords=50)
    assert f"{settings.katalog_kode_simpul}:kelurahan" not in csw.records
    # keyword AND bbox
    csw.getrecords2(constraints=[fes.And([fes.PropertyIsLike("dc:subject", "%ADMINISTRASIDESA_AR%"),
                                          fes.BBox([106.60, -6.25, 106.70, -6.15])])], maxrecords=50)
    assert set(csw.records) == {f"{settings.katalog_kode_simpul}:kelurahan",
                                f"{settings.katalog_kode_simpul}:tetangga_desa_kelurahan"}


def test_bbox_in_lat_lon_urn_as_metasearch_sends(csw, settings):
    csw.getrecords2(constraints=[fes.BBox([-6.25, 106.60, -6.15, 106.70], crs="urn:ogc:def:crs:EPSG::4326")],
                    maxrecords=50)
    assert f"{settings.katalog_kode_simpul}:kelurahan" in csw.records


def test_paging_and_hits(csw):
    csw.getrecords2(resulttype="hits")
    total = csw.results["matches"]
    assert total >= 8 and csw.results["returned"] == 0
    seen = []
    start = 1
    while start:
        csw.getrecords2(startposition=start if start > 1 else 0, maxrecords=3, sortby=fes.SortBy(
            [fes.SortProperty("dc:title", "ASC")]))
        seen += list(csw.records)
        start = csw.results["nextrecord"]
        assert len(seen) <= total
    assert len(seen) == total == len(set(seen))


def test_getrecordbyid_iso19139_parses_with_required_elements(csw, settings):
    ident = f"{settings.katalog_kode_simpul}:kelurahan"
    csw.getrecordbyid(id=[ident], outputschema=GMD)
    md = csw.records[ident]
    assert isinstance(md, MD_Metadata)
    assert md.identifier == ident
    assert md.languagecode == "ind" or md.language == "ind"
    assert md.datestamp
    assert md.contact and md.contact[0].organization == settings.katalog_contact_org
    ident_info = md.identification[0]
    assert ident_info.title == "Kelurahan Kota Tangerang"
    assert ident_info.abstract and "kelurahan" in ident_info.abstract.lower()
    assert ident_info.purpose
    assert ident_info.topiccategory == ["boundaries"]
    words = [k.name for group in ident_info.keywords for k in group.keywords]
    assert "ADMINISTRASIDESA_AR" in words and "Kota Tangerang" in words
    assert {d.type for d in ident_info.date} >= {"creation", "publication", "revision"}
    bb = ident_info.bbox
    assert 106.5 < float(bb.minx) < float(bb.maxx) < 106.8 and -6.35 < float(bb.miny) < float(bb.maxy) < -6.0
    assert "MIT" in ident_info.otherconstraints
    assert any("cahyadsn/wilayah_boundaries" in u for u in ident_info.uselimitation)
    assert md.dataquality.lineage and "SOURCES.md" in md.dataquality.lineage
    assert "cahyadsn/wilayah_boundaries" in md.dataquality.lineage
    assert md.referencesystem.code.endswith("4326")
    urls = [o.url for o in md.distribution.online]
    assert any(u.endswith("/unduh/kelurahan.zip") for u in urls)
    assert any("/ogc/collections/kelurahan" in u for u in urls)
    assert ident_info.contact and ident_info.contact[0].organization


def test_published_layer_record_appears_at_once_and_changes_on_republish(client, admin_key, csw, settings):
    ident = f"{settings.katalog_kode_simpul}:tps_katalog_uji"
    r = _publish(client, admin_key, _points(4), id="tps_katalog_uji", kugi="SARANAPERSAMPAHAN_PT",
                 topic="utilitiesCommunication", keywords="persampahan, TPS", purpose="Lokasi TPS sementara",
                 scale="5000", frequency="monthly", licence="CC-BY-4.0", created="2026-11-01",
                 description="Titik TPS sementara Kota Tangerang (uji)")
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["missing"] == []
    csw.getrecordbyid(id=[ident], outputschema=GMD)
    first = csw.records[ident].identification[0]
    assert first.title == "TPS sementara"
    assert first.denominators == ["5000"]
    assert first.purpose == "Lokasi TPS sementara"
    x0 = float(first.bbox.minx)
    # a new version, elsewhere and retitled: its given metadata kept, extent and title revised
    r = _publish(client, admin_key, _points(6, x0=106.70), id="tps_katalog_uji", title="TPS sementara 2026")
    assert r.status_code == 201, r.text
    csw.getrecordbyid(id=[ident], outputschema=GMD)
    second = csw.records[ident].identification[0]
    assert second.title == "TPS sementara 2026"
    assert second.denominators == ["5000"] and second.purpose == "Lokasi TPS sementara"
    assert float(second.bbox.minx) > x0
    csw.getrecords2(constraints=[fes.PropertyIsLike("csw:AnyText", "%persampahan%")], maxrecords=50)
    assert ident in csw.records
    # unpublished: gone from the catalogue
    assert client.delete("/layers/tps_katalog_uji", headers={"X-API-Key": admin_key}).status_code == 200
    csw.getrecords2(constraints=[fes.PropertyIsLike("csw:AnyText", "%persampahan%")], maxrecords=50)
    assert ident not in csw.records


def test_publish_with_unknown_kugi_is_422_and_writes_nothing(client, admin_key):
    r = _publish(client, admin_key, _points(2), id="tps_kugi_salah", kugi="BUKAN_KODE", topic="nonsense",
                 scale="3")
    assert r.status_code == 422
    body = r.json()
    elements = {e["element"] for e in body["errors"]}
    assert any("KUGI" in e for e in elements) and any("topicCategory" in e for e in elements)
    assert any("spatialResolution" in e for e in elements)
    assert client.get("/ogc/collections/tps_kugi_salah").status_code == 404


def _exception(resp) -> tuple[str, str | None]:
    root = etree.fromstring(resp.content)
    assert root.tag == f"{OWS}ExceptionReport"
    exc = root.find(f"{OWS}Exception")
    return exc.get("exceptionCode"), exc.get("locator")


@pytest.mark.parametrize("params,code,locator", [
    ({"request": "GetRecords", "version": "2.0.2"}, "MissingParameterValue", "service"),
    ({"service": "CSW", "version": "2.0.2"}, "MissingParameterValue", "request"),
    ({"service": "CSW", "version": "2.0.2", "request": "Transaction"}, "OperationNotSupported", "request"),
    ({"service": "CSW", "version": "3.0.0", "request": "GetRecords"}, "VersionNegotiationFailed", "version"),
    ({"service": "CSW", "version": "2.0.2", "request": "GetRecords", "bogus": "1"}, "InvalidParameterValue", "bogus"),
    ({"service": "CSW", "version": "2.0.2", "request": "GetRecords", "maxRecords": "-1"},
     "InvalidParameterValue", "maxRecords"),
    ({"service": "CSW", "version": "2.0.2", "request": "GetRecords", "maxRecords": "lots"},
     "InvalidParameterValue", "maxRecords"),
    ({"service": "CSW", "version": "2.0.2", "request": "GetRecords", "constraintLanguage": "CQL_TEXT",
      "constraint": "title LIKE"}, "InvalidParameterValue", "constraint"),
    ({"service": "CSW", "version": "2.0.2", "request": "GetRecords", "constraintLanguage": "CQL_TEXT",
      "constraint": "nosuchfield = 'x'"}, "InvalidParameterValue", "constraint"),
    ({"service": "CSW", "version": "2.0.2", "request": "GetRecords", "constraintLanguage": "FILTER",
      "constraint": "<ogc:Filter xmlns:ogc='http://www.opengis.net/ogc'><ogc:Nope/></ogc:Filter>"},
     "InvalidParameterValue", "constraint"),
    ({"service": "CSW", "version": "2.0.2", "request": "GetRecords", "outputSchema": "urn:x"},
     "InvalidParameterValue", "outputSchema"),
    ({"service": "CSW", "version": "2.0.2", "request": "GetRecordById"}, "MissingParameterValue", "id"),
])
def test_bad_kvp_requests_are_ows_exceptions(client, params, code, locator):
    r = client.get("/csw", params=params)
    assert r.status_code == 400
    assert _exception(r) == (code, locator)


def test_huge_maxrecords_is_capped(client, settings):
    r = client.get("/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecords",
                                   "resultType": "results", "maxRecords": "99999999999999999999"})
    assert r.status_code == 200
    res = etree.fromstring(r.content).find("{http://www.opengis.net/cat/csw/2.0.2}SearchResults")
    assert int(res.get("numberOfRecordsReturned")) <= settings.katalog_max_records
    assert int(res.get("numberOfRecordsReturned")) == min(int(res.get("numberOfRecordsMatched")),
                                                          settings.katalog_max_records)


def test_cql_text_constraint(client, settings):
    r = client.get("/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecords",
                                   "resultType": "results", "constraintLanguage": "CQL_TEXT",
                                   "constraint": "dc:title like '%kecamatan%' and BBOX(ows:BoundingBox, "
                                                 "106.5, -6.4, 106.9, -6.0)"})
    assert r.status_code == 200, r.text
    ids = [e.text for e in etree.fromstring(r.content).iter("{http://purl.org/dc/elements/1.1/}identifier")]
    assert ids == [f"{settings.katalog_kode_simpul}:kecamatan"]


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2">&x;'
    b'</csw:GetRecords>',
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2">&lol2;</csw:GetRecords>',
    b"<csw:GetRecords",
])
def test_hostile_or_broken_xml_posts_are_refused(client, body):
    r = client.post("/csw", content=body, headers={"Content-Type": "application/xml"})
    assert r.status_code == 400
    code, _ = _exception(r)
    assert code == "NoApplicableCode"
    assert b"root:" not in r.content


def test_getrecords_in_iso19139_and_describerecord(csw, client, settings):
    csw.getrecords2(constraints=[fes.PropertyIsEqualTo("apiso:TopicCategory", "boundaries")], esn="full",
                    outputschema=GMD, typenames="gmd:MD_Metadata", maxrecords=50)
    assert f"{settings.katalog_kode_simpul}:kecamatan" in csw.records
    assert all(isinstance(r, MD_Metadata) for r in csw.records.values())
    assert {r.identification[0].topiccategory[0] for r in csw.records.values()} == {"boundaries"}
    r = client.get("/csw", params={"service": "CSW", "version": "2.0.2", "request": "DescribeRecord"})
    assert r.status_code == 200 and b"record.xsd" in r.content
