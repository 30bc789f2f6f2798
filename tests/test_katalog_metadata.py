"""Metadata documents put for a published layer (ISO 19139 XML or pygeometa MCF): accepted and served back;
hostile or incomplete documents are 422s naming each element, and nothing is written."""

from __future__ import annotations

import pytest
from lxml import etree

from layers.katalog import metadata as md
from tests.test_katalog_csw import _cli, _points, _publish, admin_key  # noqa: F401  (fixture)

GMD = "http://www.isotc211.org/2005/gmd"
NS = {"gmd": GMD, "gco": "http://www.isotc211.org/2005/gco"}


@pytest.fixture(scope="module")
def layer(client_module, admin_key):  # noqa: F811
    r = _publish(client_module, admin_key, _points(3), id="tps_metadata_uji", description="TPS uji")
    assert r.status_code == 201, r.text
    return "tps_metadata_uji"


@pytest.fixture(scope="module")
def client_module(live_server):
    import httpx

    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        yield c


def _iso(client, cid: str) -> bytes:
    r = client.get("/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecordById",
                                   "id": f"36.71:{cid}", "outputSchema": GMD, "elementSetName": "full"})
    assert r.status_code == 200
    root = etree.fromstring(r.content)
    return etree.tostring(root.find(f"{{{GMD}}}MD_Metadata"))


def _put(client, key, cid, body: bytes, ctype="application/xml"):
    return client.put(f"/layers/{cid}/metadata", content=body, headers={"X-API-Key": key, "Content-Type": ctype})


def _complete_iso(client, layer) -> etree._Element:
    """Our own record of the layer with every element filled in, as an OPD's GIS tool would send it."""
    src = md.Facts(collection_id=layer, kind="published", version=1, title="TPS", abstract="Titik TPS uji",
                   purpose="Uji unggah metadata", topic="utilitiesCommunication", kugi="SARANAPERSAMPAHAN_PT",
                   keywords=["persampahan"], opd="Dinas Lingkungan Hidup", created="2025-05-01",
                   published="2026-01-01T00:00:00", revised="2026-01-01T00:00:00", bbox=[106.6, -6.2, 106.7, -6.1],
                   geometry_type="MultiPoint", scale=2500, lineage="Survei lapangan DLH 2025", licence="CC-BY-4.0",
                   attribution="Dinas Lingkungan Hidup Kota Tangerang", frequency="quarterly")
    node = md.Node("36.71", "n", "Diskominfo", "a@b.go.id", "")
    return etree.fromstring(md.iso19139(md.mcf(src, node, "http://x")))


def test_iso19139_upload_revises_the_record(client_module, admin_key, layer):  # noqa: F811
    body = etree.tostring(_complete_iso(client_module, layer))
    r = _put(client_module, admin_key, layer, body)
    assert r.status_code == 200, r.text
    assert r.json()["missing"] == []
    back = etree.fromstring(_iso(client_module, layer))
    assert back.xpath("//gmd:purpose/gco:CharacterString/text()", namespaces=NS) == ["Uji unggah metadata"]
    assert "Survei lapangan DLH 2025" in back.xpath("//gmd:lineage//gco:CharacterString/text()", namespaces=NS)
    assert back.xpath("//gmd:denominator/gco:Integer/text()", namespaces=NS) == ["2500"]
    assert "SARANAPERSAMPAHAN_PT" in back.xpath("//gmd:keyword/gco:CharacterString/text()", namespaces=NS)
    # the title stays the layer's (the publish form owns it), the extent stays the data's
    assert back.xpath("//gmd:citation//gmd:title/gco:CharacterString/text()", namespaces=NS) == ["TPS sementara"]


def test_mcf_upload(client_module, admin_key, layer):  # noqa: F811
    mcf = b"""mcf: {version: 1.0}
metadata: {identifier: x}
identification:
  title: TPS
  abstract: Titik TPS dari MCF
  purpose: ${HOME}
  topiccategory: [utilitiesCommunication]
  maintenancefrequency: monthly
  rights: DLH
  license: {name: CC-BY-4.0, url: 'https://creativecommons.org/licenses/by/4.0/'}
  keywords:
    kugi: {keywords: [SARANAPERSAMPAHAN_PT], vocabulary: {name: KUGI}}
    tema: {keywords: [sampah]}
spatial: {scale: 1000}
dataquality: {lineage: {statement: Digitasi citra 2025}}
contact: {pointOfContact: {organization: DLH, email: dlh@tangerangkota.go.id}}
"""
    r = _put(client_module, admin_key, layer, mcf, "application/yaml")
    assert r.status_code == 200, r.text
    back = etree.fromstring(_iso(client_module, layer))
    # ${HOME} is text, never the environment
    assert back.xpath("//gmd:purpose/gco:CharacterString/text()", namespaces=NS) == ["${HOME}"]
    assert back.xpath("//gmd:denominator/gco:Integer/text()", namespaces=NS) == ["1000"]


XXE = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd">&x;</gmd:MD_Metadata>')
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
                     for i in range(1, 10))
          + b']><gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd">&lol9;</gmd:MD_Metadata>')


@pytest.mark.parametrize("body,ctype,element", [
    (XXE, "application/xml", "/"),
    (LAUGHS, "application/xml", "/"),
    (b"<gmd:MD_Metadata xmlns:gmd='http://www.isotc211.org/2005/gmd'>", "application/xml", "/"),
    (b"<x/>", "application/xml", "/gmd:MD_Metadata"),
    (b"identification: [1, 2", "application/yaml", "/"),
])
def test_hostile_or_broken_documents_are_422(client_module, admin_key, layer, body, ctype, element):  # noqa: F811
    before = _iso(client_module, layer)
    r = _put(client_module, admin_key, layer, body, ctype)
    assert r.status_code == 422, r.text
    assert element in {e["element"] for e in r.json()["errors"]}
    assert "root:" not in r.text
    assert _iso(client_module, layer) == before


def test_incomplete_document_names_each_missing_element(client_module, admin_key, layer):  # noqa: F811
    doc = _complete_iso(client_module, layer)
    ident = doc.find(f"{{{GMD}}}identificationInfo/{{{GMD}}}MD_DataIdentification")
    for name in ("purpose", "topicCategory"):
        for el in ident.findall(f"{{{GMD}}}{name}"):
            ident.remove(el)
    for kw in doc.xpath("//gmd:keyword/gco:CharacterString", namespaces=NS):
        if kw.text == "SARANAPERSAMPAHAN_PT":
            kw.text = "BUKANKUGI_PT"
    r = _put(client_module, admin_key, layer, etree.tostring(doc))
    assert r.status_code == 422
    elements = {e["element"] for e in r.json()["errors"]}
    assert md.PATHS["kugi"] in elements  # unknown KUGI code
    r = _put(client_module, admin_key, layer, etree.tostring(_strip_kugi(doc)))
    elements = {e["element"] for e in r.json()["errors"]}
    assert {md.PATHS["purpose"], md.PATHS["topic"], md.PATHS["kugi"]} <= elements


def _strip_kugi(doc):
    for kw in doc.xpath("//gmd:keyword", namespaces=NS):
        if kw.findtext(f"{{{NS['gco']}}}CharacterString", "").endswith("_PT"):
            kw.getparent().remove(kw)
    return doc


def test_put_needs_admin_and_a_published_layer(client_module, admin_key, layer):  # noqa: F811
    body = etree.tostring(_complete_iso(client_module, layer))
    assert client_module.put(f"/layers/{layer}/metadata", content=body).status_code == 401
    assert _put(client_module, admin_key, "kelurahan", body).status_code == 404


def test_katalog_validate_lists_missing_elements(settings, client_module, layer):
    client_module.get("/csw", params={"service": "CSW", "version": "2.0.2", "request": "GetRecords"})
    r = _cli(settings, "katalog", "validate")
    assert r.returncode == 0, r.stderr
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith(("─", "┃"))}
    assert "kelurahan" in r.stdout
    assert "spatialResolution" in r.stdout  # bundled layers have no stated scale (SOURCES.md gives none)
    assert lines


def test_cli_publish_takes_metadata_options(settings, client_module, tmp_path):
    src = tmp_path / "tps.geojson"
    src.write_bytes(_points(2))
    bad = _cli(settings, "layers", "publish", str(src), "--id", "tps_cli_meta", "--title", "TPS CLI", "--opd", "DLH",
               "--kugi", "BUKAN_KODE")
    assert bad.returncode != 0 and "KUGI" in bad.stderr and "Traceback" not in bad.stderr
    assert client_module.get("/ogc/collections/tps_cli_meta").status_code == 404
    ok = _cli(settings, "layers", "publish", str(src), "--id", "tps_cli_meta", "--title", "TPS CLI", "--opd", "DLH",
              "--kugi", "SARANAPERSAMPAHAN_PT", "--scale", "2000", "--purpose", "Uji CLI")
    assert ok.returncode == 0, ok.stderr
    back = etree.fromstring(_iso(client_module, "tps_cli_meta"))
    assert back.xpath("//gmd:denominator/gco:Integer/text()", namespaces=NS) == ["2000"]
    assert "SARANAPERSAMPAHAN_PT" in back.xpath("//gmd:keyword/gco:CharacterString/text()", namespaces=NS)
