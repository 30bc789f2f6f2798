"""Uploaded SLD styles per layer: two published layers, each with its own SLD, drawn in their own colours in one
GetMap; every layer's styles in the capabilities; STYLES= and GetLegendGraphic per style; the layer map in /peta
drawn with the uploaded style's colours."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest
from owslib.wms import WebMapService
from PIL import Image

POLY, POINTS = "taman_gaya", "titik_gaya"
BBOX_130 = "-6.19,106.61,-6.15,106.70"  # lat,lon; parks in the west half, points in the east half
GREEN, YELLOW, BLUE = (16, 160, 16), (240, 200, 0), (16, 48, 208)


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def _sld(layer: str, title: str, symbolizer: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc">
  <NamedLayer><Name>{layer}</Name><UserStyle><Title>{title}</Title><FeatureTypeStyle><Rule>
  <Title>{title}</Title>{symbolizer}</Rule></FeatureTypeStyle></UserStyle></NamedLayer>
</StyledLayerDescriptor>""".encode()


def _poly(fill: str, label: bool = False) -> str:
    text = ('<TextSymbolizer><Label><ogc:PropertyName>nama</ogc:PropertyName></Label>'
            '<Font><CssParameter name="font-size">8</CssParameter></Font></TextSymbolizer>') if label else ""
    return (f'<PolygonSymbolizer><Fill><CssParameter name="fill">{fill}</CssParameter></Fill><Stroke>'
            '<CssParameter name="stroke">#202020</CssParameter><CssParameter name="stroke-width">1.5</CssParameter>'
            f'</Stroke></PolygonSymbolizer>{text}')


SLD_HIJAU = _sld(POLY, "Taman hijau (OPD)", _poly("#10a010"))
SLD_KUNING = _sld(POLY, "Taman kuning berlabel (OPD)", _poly("#f0c800", label=True))
SLD_BIRU = _sld(POINTS, "Titik biru (OPD)", '<PointSymbolizer><Graphic><Mark><WellKnownName>square</WellKnownName>'
                '<Fill><CssParameter name="fill">#1030d0</CssParameter></Fill></Mark><Size>14</Size></Graphic>'
                "</PointSymbolizer>")
SLD_BAD_COLUMN = _sld(POINTS, "x", "<ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>tidak_ada"
                      "</ogc:PropertyName><ogc:Literal>1</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>"
                      '<PointSymbolizer><Graphic><Mark><WellKnownName>circle</WellKnownName></Mark></Graphic>'
                      "</PointSymbolizer>")


def _parks() -> bytes:
    feats = []
    for i in range(4):
        x, y = 106.615 + i * 0.008, -6.185 + i * 0.008
        ring = [[x, y], [x + 0.006, y], [x + 0.006, y + 0.006], [x, y + 0.006], [x, y]]
        feats.append({"type": "Feature", "properties": {"nama": f"Taman SINTETIS {i}", "luas": 1000 + i},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def _points() -> bytes:
    feats = [{"type": "Feature", "properties": {"nama": f"Titik SINTETIS {i}", "nilai": i},
              "geometry": {"type": "Point", "coordinates": [106.665 + (i % 5) * 0.006, -6.185 + (i // 5) * 0.006]}}
             for i in range(25)]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


@pytest.fixture(scope="module")
def admin_key(settings) -> str:
    r = _cli(settings, "keys", "create", "dinas-lh-gaya-test", "--role", "gis_admin")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def styled(live_server, admin_key):
    """Two published layers; the parks get two uploaded styles (kuning is the newer: the default), the points one."""
    import httpx

    h = {"X-API-Key": admin_key}
    for lid, title, body in ((POLY, "Taman kota SINTETIS (gaya)", _parks()),
                             (POINTS, "Titik SINTETIS (gaya)", _points())):
        r = httpx.post(f"{live_server.url}/layers", params={"id": lid, "title": title, "opd": "Dinas LH",
                                                            "filename": f"{lid}.geojson"},
                       content=body, headers=h, timeout=120)
        assert r.status_code == 201, r.text
    for lid, name, sld in ((POLY, "hijau", SLD_HIJAU), (POLY, "kuning", SLD_KUNING), (POINTS, "biru", SLD_BIRU)):
        r = httpx.post(f"{live_server.url}/layers/{lid}/styles", params={"name": name}, content=sld,
                       headers={**h, "Content-Type": "application/vnd.ogc.sld+xml"}, timeout=120)
        assert r.status_code == 201, r.text
    yield live_server
    for lid in (POLY, POINTS):
        httpx.delete(f"{live_server.url}/layers/{lid}", headers=h, timeout=60)


def _getmap(client, layers: str, styles: str) -> Image.Image:
    r = client.get("/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layers,
                                   "STYLES": styles, "CRS": "EPSG:4326", "BBOX": BBOX_130, "WIDTH": 450,
                                   "HEIGHT": 200, "FORMAT": "image/png"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/png"), r.text[:400]
    return Image.open(io.BytesIO(r.content)).convert("RGB")


def _share(img: Image.Image, rgb: tuple[int, int, int], box=None, tol: int = 40) -> float:
    part = img.crop(box) if box else img
    px = list(part.getdata())
    return sum(1 for p in px if all(abs(p[i] - rgb[i]) <= tol for i in range(3))) / len(px)


WEST, EAST = (0, 0, 200, 200), (250, 0, 450, 200)


def test_two_layers_with_their_own_sld_in_one_getmap(styled, client, tmp_path):
    both = _getmap(client, f"{POLY},{POINTS}", "")
    both.save(tmp_path / "beide_default.png")
    # defaults: the parks in their newest style (kuning), the points in theirs (biru), each in its own half
    assert _share(both, YELLOW, WEST) > 0.05 and _share(both, BLUE, EAST) > 0.02
    assert _share(both, BLUE, WEST) < 0.005 and _share(both, YELLOW, EAST) < 0.005
    assert _share(both, GREEN) < 0.005

    chosen = _getmap(client, f"{POLY},{POINTS}", "hijau,biru")
    chosen.save(tmp_path / "beide_hijau.png")
    assert _share(chosen, GREEN, WEST) > 0.05 and _share(chosen, BLUE, EAST) > 0.02
    assert _share(chosen, YELLOW) < 0.005

    plain = _getmap(client, f"{POLY},{POINTS}", "standar,default")
    assert _share(plain, GREEN) < 0.005 and _share(plain, YELLOW) < 0.005 and _share(plain, BLUE, EAST) > 0.02

    # a bundled layer keeps its own cartographic default beside them
    with_kel = _getmap(client, f"kelurahan,{POLY},{POINTS}", "")
    assert _share(with_kel, (255, 250, 230)) > 0.05 and _share(with_kel, YELLOW, WEST) > 0.05


def test_capabilities_list_each_layers_styles(styled):
    wms = WebMapService(f"{styled.url}/ows", version="1.3.0", timeout=120)
    assert set(wms[POLY].styles) == {"kuning", "hijau", "standar"}
    assert wms[POLY].styles["hijau"]["title"] == "Taman hijau (OPD)"
    assert set(wms[POINTS].styles) == {"biru", "standar"}
    assert set(wms["kelurahan"].styles) == {"kartografi", "standar"}
    for name in ("hijau", "kuning"):
        assert wms[POLY].styles[name].get("legend"), "each style has its legend URL"


@pytest.mark.parametrize(("layer", "style", "colour", "other"), [(POLY, "hijau", GREEN, YELLOW),
                                                                  (POLY, "kuning", YELLOW, GREEN),
                                                                  (POINTS, "biru", BLUE, YELLOW)])
def test_legend_per_style(styled, client, layer, style, colour, other):
    r = client.get("/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic",
                                   "LAYER": layer, "STYLE": style, "FORMAT": "image/png"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/png"), r.text[:300]
    img = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert _share(img, colour, tol=30) > 0 and _share(img, other, tol=30) == 0


def test_unknown_style_of_a_styled_layer(styled, client):
    r = client.get("/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": POINTS,
                                   "STYLES": "hijau", "CRS": "EPSG:4326", "BBOX": BBOX_130, "WIDTH": 10,
                                   "HEIGHT": 10, "FORMAT": "image/png"})
    assert r.status_code == 400 and 'code="StyleNotDefined"' in r.text  # hijau belongs to the parks only


def test_sld_naming_a_missing_attribute_is_refused(styled, client, admin_key):
    r = client.post(f"/layers/{POINTS}/styles", params={"name": "salah"}, content=SLD_BAD_COLUMN,
                    headers={"X-API-Key": admin_key, "Content-Type": "application/xml"})
    assert r.status_code == 422 and r.json()["parameter"] == "body"
    assert "tidak_ada" in r.json()["detail"]


def _hexes(page: str) -> set[str]:
    return {h.lower() for h in re.findall(r'#[0-9a-fA-F]{6}', page)}


def test_peta_layer_map_draws_the_uploaded_style(styled, client):
    parks = client.get(f"/peta/layer/{POLY}")
    assert parks.status_code == 200
    assert '"fillColor": "#f0c800"' in parks.text and '"color": "#202020"' in parks.text, "the newest SLD (kuning)"
    assert '"weight": 1.5' in parks.text
    assert "Gaya dari SLD OPD: Taman kuning berlabel (OPD)" in parks.text
    points = client.get(f"/peta/layer/{POINTS}")
    assert points.status_code == 200
    assert '"fillColor": "#1030d0"' in points.text and '"radius": 7.0' in points.text
    plain = client.get("/peta/layer/kecamatan")  # no uploaded style: the map keeps its own colours
    assert plain.status_code == 200 and "#f0c800" not in _hexes(plain.text) and "Gaya dari SLD" not in plain.text
