"""Issue 15 item by item where the other /ows tests leave a gap: capabilities text and boxes, axis order of every
offered CRS (the same map in 1.3.0 lat,lon, 1.1.1 lon,lat and CRS:84), UTM 48S, GetFeatureInfo in 1.1.1 and
EPSG:3857, WFS 1.1.0 hits, srsName, a Filter joining an attribute and a box, and errors never drawn into an image."""

from __future__ import annotations

import io

import pytest
from lxml import etree
from owslib.wms import WebMapService
from PIL import Image, ImageChops
from pyproj import Transformer

SUKARASA = (-6.17288, 106.63185)  # lat, lon of kelurahan Sukarasa's office point
FES = "http://www.opengis.net/fes/2.0"
TO_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32748", always_xy=True)


def _png(r) -> Image.Image:
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/"), r.text[:400]
    return Image.open(io.BytesIO(r.content)).convert("RGB")


def _map(client, **params) -> Image.Image:
    base = {"SERVICE": "WMS", "REQUEST": "GetMap", "LAYERS": "kelurahan,kecamatan", "STYLES": "",
            "WIDTH": 300, "HEIGHT": 300, "FORMAT": "image/png"}
    return _png(client.get("/ows", params={**base, **params}))


def test_capabilities_carry_catalogue_text_and_boxes(live_server):
    wms = WebMapService(f"{live_server.url}/ows", version="1.3.0", timeout=120)
    kel = wms["kelurahan"]
    assert kel.abstract and len(kel.abstract) > 10
    assert kel.keywords and all(k for k in kel.keywords)
    x0, y0, x1, y1 = kel.boundingBoxWGS84
    assert 106.5 < x0 < x1 < 106.8 and -6.35 < y0 < y1 < -6.0  # the city, lon/lat
    boxes = {b[-1]: b for b in kel.crs_list}
    assert {"EPSG:4326", "EPSG:3857", "EPSG:32748", "CRS:84"} <= set(boxes)
    assert boxes["EPSG:3857"][0] > 11_800_000 and boxes["EPSG:32748"][1] > 9_000_000


def test_axis_order_same_map_in_130_111_and_crs84(client):
    lat0, lon0, lat1, lon1 = -6.22, 106.60, -6.14, 106.68
    v130 = _map(client, VERSION="1.3.0", CRS="EPSG:4326", BBOX=f"{lat0},{lon0},{lat1},{lon1}")
    v111 = _map(client, VERSION="1.1.1", SRS="EPSG:4326", BBOX=f"{lon0},{lat0},{lon1},{lat1}")
    crs84 = _map(client, VERSION="1.3.0", CRS="CRS:84", BBOX=f"{lon0},{lat0},{lon1},{lat1}")
    assert len(v130.getcolors(1 << 20)) > 5, "blank map"
    assert ImageChops.difference(v130, v111).getbbox() is None
    assert ImageChops.difference(v130, crs84).getbbox() is None
    # the same numbers read the other way round are another place: a different map, not the same one
    other = _map(client, VERSION="1.3.0", CRS="EPSG:4326", BBOX=f"{lat0},{lon0 + 0.04},{lat1},{lon1 + 0.04}")
    assert ImageChops.difference(v130, other).getbbox() is not None


@pytest.mark.parametrize("crs", ["EPSG:32748", "EPSG:3857"])
def test_projected_crs_draws_the_city(client, crs):
    t = TO_UTM if crs == "EPSG:32748" else TO_3857
    x0, y0 = t.transform(106.58, -6.28)
    x1, y1 = t.transform(106.73, -6.12)
    img = _map(client, VERSION="1.3.0", CRS=crs, BBOX=f"{x0},{y0},{x1},{y1}", LAYERS="kelurahan",
               STYLES="kartografi")
    px = list(img.getdata())
    fill = sum(1 for p in px if abs(p[0] - 255) < 8 and abs(p[1] - 250) < 8 and abs(p[2] - 230) < 12) / len(px)
    assert fill > 0.3, f"the kelurahan fill covers {fill:.0%} of the city view in {crs}"


def _info(client, **params) -> str:
    base = {"SERVICE": "WMS", "REQUEST": "GetFeatureInfo", "LAYERS": "kelurahan", "QUERY_LAYERS": "kelurahan",
            "STYLES": "", "WIDTH": 101, "HEIGHT": 101, "FORMAT": "image/png"}
    r = client.get("/ows", params={**base, **params})
    assert r.status_code == 200, r.text[:300]
    return r.text


@pytest.mark.parametrize("fmt", ["text/html", "application/json", "application/vnd.ogc.gml"])
def test_getfeatureinfo_111_and_3857_name_sukarasa(client, fmt):
    lat, lon = SUKARASA
    d = 0.01
    v111 = _info(client, VERSION="1.1.1", SRS="EPSG:4326", BBOX=f"{lon - d},{lat - d},{lon + d},{lat + d}",
                 X=50, Y=50, INFO_FORMAT=fmt)
    assert "Sukarasa" in v111
    if fmt == "application/json":  # GeoJSON's lon,lat, whatever the request's axis order
        import json

        ring = json.loads(v111)["features"][0]["geometry"]["coordinates"][0]
        assert all(106.5 < x < 106.8 and -6.3 < y < -6.0 for x, y in ring)
        v130 = _info(client, VERSION="1.3.0", CRS="EPSG:4326", BBOX=f"{lat - d},{lon - d},{lat + d},{lon + d}",
                     I=50, J=50, INFO_FORMAT=fmt)
        assert json.loads(v130)["features"][0]["geometry"]["coordinates"][0] == ring
    x, y = TO_3857.transform(lon, lat)
    m = 1000
    merc = _info(client, VERSION="1.3.0", CRS="EPSG:3857", BBOX=f"{x - m},{y - m},{x + m},{y + m}", I=50, J=50,
                 INFO_FORMAT=fmt)
    assert "Sukarasa" in merc
    far = _info(client, VERSION="1.3.0", CRS="EPSG:3857", BBOX=f"{x - m},{y - m},{x + m},{y + m}", I=0, J=0,
                INFO_FORMAT=fmt)
    assert "Sukarasa" not in far  # another kelurahan (or none) at the corner: the answer depends on the click


def test_wfs_110_hits(client):
    r = client.get("/ows", params={"SERVICE": "WFS", "VERSION": "1.1.0", "REQUEST": "GetFeature",
                                   "TYPENAME": "kelurahan", "RESULTTYPE": "hits"})
    assert r.status_code == 200, r.text[:300]
    assert etree.fromstring(r.content).get("numberOfFeatures") == "104"


def test_wfs_srsname_3857_gml32(client):
    r = client.get("/ows", params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                   "TYPENAMES": "poi", "COUNT": 3, "SRSNAME": "urn:ogc:def:crs:EPSG::3857"})
    assert r.status_code == 200 and "gml/3.2" in r.headers["content-type"], r.text[:300]
    pos = [float(v) for e in etree.fromstring(r.content).iter("{http://www.opengis.net/gml/3.2}pos")
           for v in e.text.split()]
    assert pos and 11_800_000 < pos[0] < 11_900_000 and -720_000 < pos[1] < -670_000


def test_wfs_srsname_not_offered_is_named(client):
    r = client.get("/ows", params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                   "TYPENAMES": "poi", "COUNT": 1, "SRSNAME": "urn:ogc:def:crs:OGC:1.3:CRS84"})
    assert r.status_code == 400 and 'locator="SRSNAME"' in r.text


def test_wfs_filter_attribute_and_bbox(client, db):
    flt = (f'<fes:Filter xmlns:fes="{FES}" xmlns:gml="http://www.opengis.net/gml/3.2"><fes:And>'
           "<fes:PropertyIsEqualTo><fes:ValueReference>kec_nama</fes:ValueReference><fes:Literal>Ciledug"
           "</fes:Literal></fes:PropertyIsEqualTo><fes:BBOX><fes:ValueReference>geom</fes:ValueReference>"
           '<gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326"><gml:lowerCorner>-6.24 106.712</gml:lowerCorner>'
           "<gml:upperCorner>-6.20 106.75</gml:upperCorner></gml:Envelope></fes:BBOX></fes:And></fes:Filter>")
    r = client.get("/ows", params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                   "TYPENAMES": "kelurahan", "FILTER": flt, "OUTPUTFORMAT": "application/json"})
    assert r.status_code == 200, r.text[:300]
    got = {f["properties"]["nama"] for f in r.json()["features"]}
    rows = db.execute("SELECT nama FROM kelurahan WHERE kec_nama = 'Ciledug' AND ST_Intersects(geom, "
                      "ST_MakeEnvelope(106.712, -6.24, 106.75, -6.20, 4326))").fetchall()
    expected = {next(iter(r.values())) for r in rows}
    assert got == expected and 0 < len(expected) < 8


@pytest.mark.parametrize("exceptions", ["application/vnd.ogc.se_inimage", "application/vnd.ogc.se_blank", "INIMAGE"])
def test_errors_are_never_drawn_into_an_image(client, exceptions):
    r = client.get("/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "kelurahan",
                                   "STYLES": "tidak_ada", "CRS": "EPSG:4326", "BBOX": "-6.3,106.55,-6.1,106.75",
                                   "WIDTH": 64, "HEIGHT": 64, "FORMAT": "image/png", "EXCEPTIONS": exceptions})
    assert r.status_code == 400 and "xml" in r.headers["content-type"] and 'code="StyleNotDefined"' in r.text
