"""WMS 1.3.0 at /ows through real clients (OWSLib, GDAL's WMS driver) against MapServer workers."""

from __future__ import annotations

import io

import httpx
from owslib.wms import WebMapService
from PIL import Image, ImageChops

CITY = (106.55, -6.30, 106.75, -6.10)  # lon/lat: OWSLib swaps to lat,lon itself for 1.3.0 EPSG:4326
SUKARASA = (-6.17288, 106.63185)  # kantor/label point of kelurahan Sukarasa


def _wms(live_server) -> WebMapService:
    return WebMapService(f"{live_server.url}/ows", version="1.3.0", timeout=120)


def test_capabilities_list_every_collection(live_server, client):
    wms = _wms(live_server)
    colls = client.get("/ogc/collections").json()["collections"]
    with_geometry = {c["id"] for c in colls if c.get("extent", {}).get("spatial")}
    assert {"kelurahan", "kecamatan", "poi"} <= with_geometry
    assert with_geometry <= set(wms.contents)
    kel = wms["kelurahan"]
    assert kel.title == "Kelurahan Kota Tangerang"
    assert {"EPSG:4326", "EPSG:3857", "EPSG:32748", "CRS:84"} <= set(kel.crsOptions)
    assert {"kartografi", "standar"} <= set(kel.styles)


def _png(body: bytes) -> Image.Image:
    return Image.open(io.BytesIO(body)).convert("RGB")


def test_getmap_kelurahan_styled_differs_from_standard(live_server, tmp_path):
    wms = _wms(live_server)
    styled = wms.getmap(layers=["kelurahan"], styles=["kartografi"], srs="EPSG:4326", bbox=CITY,
                        size=(512, 512), format="image/png")
    plain = wms.getmap(layers=["kelurahan"], styles=["standar"], srs="EPSG:4326", bbox=CITY,
                       size=(512, 512), format="image/png")
    a, b = styled.read(), plain.read()
    (tmp_path / "styled.png").write_bytes(a)
    (tmp_path / "plain.png").write_bytes(b)
    img_a, img_b = _png(a), _png(b)
    assert img_a.size == (512, 512)
    assert len(img_a.getcolors(1 << 20)) > 5, "the styled map is blank"
    assert len(img_b.getcolors(1 << 20)) > 2, "the standard map is blank"
    assert ImageChops.difference(img_a, img_b).getbbox() is not None


def test_getfeatureinfo_at_sukarasa_names_sukarasa(live_server):
    wms = _wms(live_server)
    lat, lon = SUKARASA
    d = 0.01
    bbox = (lon - d, lat - d, lon + d, lat + d)
    for fmt in ("application/json", "text/html", "application/vnd.ogc.gml"):
        res = wms.getfeatureinfo(layers=["kelurahan"], srs="EPSG:4326", bbox=bbox, size=(101, 101),
                                 format="image/png", query_layers=["kelurahan"], info_format=fmt, xy=(50, 50))
        assert "Sukarasa" in res.read().decode("utf-8"), fmt


def test_getlegendgraphic_png(client):
    r = client.get("/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic",
                                   "LAYER": "poi", "FORMAT": "image/png", "SLD_VERSION": "1.1.0"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/png"), r.text[:300]
    img = Image.open(io.BytesIO(r.content))
    assert img.size[0] > 10 and img.size[1] > 40  # five POI kinds and "Lainnya"


def test_wms_111_getmap_lon_lat(client):
    r = client.get("/ows", params={"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS":
                                   "kecamatan,poi", "STYLES": "", "SRS": "EPSG:4326",
                                   "BBOX": "106.55,-6.30,106.75,-6.10", "WIDTH": 300, "HEIGHT": 300,
                                   "FORMAT": "image/jpeg"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text[:300]
    assert len(_png(r.content).getcolors(1 << 20)) > 5


def test_getmap_3857_png8_transparent(client):
    r = client.get("/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "kelurahan",
                                   "STYLES": "", "CRS": "EPSG:3857", "WIDTH": 256, "HEIGHT": 256,
                                   "BBOX": "11861000,-703000,11883000,-681000", "FORMAT": "image/png; mode=8bit",
                                   "TRANSPARENT": "TRUE"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/png"), r.text[:300]
    img = Image.open(io.BytesIO(r.content)).convert("RGBA")
    alphas = {px[3] for px in img.getdata()}
    assert 0 in alphas and max(alphas) > 0




_ = httpx
