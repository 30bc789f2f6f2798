"""Bad and hostile /ows requests: an OGC exception report with the right code and a 4xx, never a 500 or an image."""

from __future__ import annotations

import pytest
from lxml import etree

WMS = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "kelurahan", "STYLES": "",
       "CRS": "EPSG:4326", "BBOX": "-6.3,106.55,-6.1,106.75", "WIDTH": "256", "HEIGHT": "256", "FORMAT": "image/png"}
WFS = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "kelurahan", "COUNT": "5"}
XXE = ('<?xml version="1.0"?><!DOCTYPE f [<!ENTITY e SYSTEM "file:///etc/passwd">]><fes:Filter '
       'xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsEqualTo><fes:ValueReference>nama'
       '</fes:ValueReference><fes:Literal>&e;</fes:Literal></fes:PropertyIsEqualTo></fes:Filter>')
BAD_COL = ('<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsEqualTo><fes:ValueReference>'
           'nama; DROP TABLE kelurahan</fes:ValueReference><fes:Literal>x</fes:Literal></fes:PropertyIsEqualTo>'
           '</fes:Filter>')

WMS_CASES = [
    ({"LAYERS": "tidak_ada"}, "LayerNotDefined", "LAYERS"),
    ({"LAYERS": "laporan"}, "LayerNotDefined", "LAYERS"),  # a table that is not a published collection
    ({"STYLES": "gaya_lain"}, "StyleNotDefined", "STYLES"),
    ({"CRS": "EPSG:9999"}, "InvalidCRS", "CRS"),
    ({"FORMAT": "image/tiff"}, "InvalidFormat", "FORMAT"),
    ({"VERSION": "1.2.0"}, "InvalidParameterValue", "VERSION"),
    ({"BBOX": "-6.1,106.55,-6.3,106.75"}, "InvalidParameterValue", "BBOX"),  # min > max
    ({"BBOX": "106.55,-6.3,106.75,-6.1"}, "InvalidParameterValue", "BBOX"),  # lon,lat in a lat,lon CRS: outside
    ({"BBOX": "1,2,3"}, "InvalidParameterValue", "BBOX"),
    ({"BBOX": "nan,1,2,3"}, "InvalidParameterValue", "BBOX"),
    ({"WIDTH": "100000"}, "InvalidParameterValue", "WIDTH"),
    ({"HEIGHT": "0"}, "InvalidParameterValue", "HEIGHT"),
    ({"WIDTH": "abc"}, "InvalidParameterValue", "WIDTH"),
    ({"REQUEST": "DeleteEverything"}, "OperationNotSupported", "REQUEST"),
    ({"SERVICE": "WCS"}, "InvalidParameterValue", "SERVICE"),
    ({"SLD": "http://169.254.169.254/latest/meta-data"}, "OperationNotSupported", "SLD"),
    ({"SLD_BODY": "<StyledLayerDescriptor/>"}, "OperationNotSupported", "SLD"),
    ({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": "kelurahan", "INFO_FORMAT": "text/html", "I": "999",
      "J": "5"}, "InvalidParameterValue", "I"),
    ({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": "kelurahan", "INFO_FORMAT": "text/html"}, "InvalidPoint", "I"),
    ({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": "poi", "I": "5", "J": "5"}, "LayerNotQueryable", "QUERY_LAYERS"),
]


def _check(r, code: str, locator: str, ns: str | None):
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert "xml" in r.headers["content-type"]
    root = etree.fromstring(r.content)
    if ns == "wms":
        exc = root.find("{http://www.opengis.net/ogc}ServiceException")
        assert exc is not None and exc.get("code") == code and exc.get("locator") == locator, r.text
    else:
        exc = root.find("{http://www.opengis.net/ows/1.1}Exception")
        assert exc is not None and exc.get("exceptionCode") == code and exc.get("locator") == locator, r.text
    assert "root:" not in r.text and "password" not in r.text.lower()


@pytest.mark.parametrize(("change", "code", "locator"), WMS_CASES, ids=[f"{c[2]}-{c[1]}" for c in WMS_CASES])
def test_wms_bad_input(client, change, code, locator):
    _check(client.get("/ows", params={**WMS, **change}), code, locator, "wms")


def test_wms_111_reports_in_111(client):
    r = client.get("/ows", params={**WMS, "VERSION": "1.1.1", "SRS": "EPSG:1", "CRS": None})
    assert r.status_code == 400 and r.headers["content-type"] == "application/vnd.ogc.se_xml"
    assert 'code="InvalidSRS"' in r.text


WFS_CASES = [
    ({"TYPENAMES": "tidak_ada"}, "InvalidParameterValue", "TYPENAMES"),
    ({"COUNT": "-1"}, "InvalidParameterValue", "COUNT"),
    ({"COUNT": "99999999"}, "InvalidParameterValue", "COUNT"),
    ({"STARTINDEX": "x"}, "InvalidParameterValue", "STARTINDEX"),
    ({"RESULTTYPE": "all"}, "InvalidParameterValue", "RESULTTYPE"),
    ({"OUTPUTFORMAT": "application/x-shapefile"}, "InvalidParameterValue", "OUTPUTFORMAT"),
    ({"BBOX": "-6.1,106.7,-6.3,106.5"}, "InvalidParameterValue", "BBOX"),
    ({"FILTER": XXE}, "InvalidParameterValue", "FILTER"),
    ({"FILTER": BAD_COL}, "InvalidParameterValue", "FILTER"),
    ({"FILTER": "<Filter><unclosed>"}, "InvalidParameterValue", "FILTER"),
    ({"VERSION": "3.0.0"}, "InvalidParameterValue", "VERSION"),
    ({"SRSNAME": "EPSG:27700"}, "InvalidParameterValue", "SRSNAME"),
    ({"TYPENAMES": None}, "MissingParameterValue", "TYPENAMES"),
]


@pytest.mark.parametrize(("change", "code", "locator"), WFS_CASES, ids=[f"{c[2]}-{c[1]}" for c in WFS_CASES])
def test_wfs_bad_input(client, change, code, locator):
    params = {k: v for k, v in {**WFS, **change}.items() if v is not None}
    _check(client.get("/ows", params=params), code, locator, "ows")


def test_engine_vendor_parameters_never_reach_mapserver(client):
    # MapServer's own `map=` and runtime substitution must not pick another mapfile or change the layer's SQL
    r = client.get("/ows", params={**WMS, "map": "/etc/passwd", "map.layer[kelurahan]": "DATA 'x'",
                                   "kelurahan": "1=1"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"


def test_huge_filter_in_a_form_body(client):
    r = client.post("/ows", data={**WFS, "FILTER": "<x" * 40000})
    _check(r, "InvalidParameterValue", "FILTER", "ows")


def test_xml_post_is_refused_politely(client):
    r = client.post("/ows", content=b"<GetFeature/>", headers={"Content-Type": "text/xml"})
    assert 400 <= r.status_code < 500 and "OperationNotSupported" in r.text


def test_form_post_works(client):
    r = client.post("/ows", data={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                  "TYPENAMES": "kecamatan", "RESULTTYPE": "hits"})
    assert r.status_code == 200 and 'numberMatched="13"' in r.text, r.text[:300]
