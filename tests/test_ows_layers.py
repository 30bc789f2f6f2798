"""Published layers at /ows: they appear in, change in and vanish from the capabilities of every server process
at once; an uploaded SLD draws the layer in its colours; hostile SLDs are refused."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from PIL import Image

from tests.conftest import LiveServer

LAYER = "taman_ows"
BBOX_130 = "-6.19,106.61,-6.15,106.65"  # lat,lon (WMS 1.3.0 EPSG:4326)


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def admin_key(settings) -> str:
    r = _cli(settings, "keys", "create", "dinas-lh-ows-test", "--role", "gis_admin")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def servers(settings):
    """Two server processes' apps with a catalog that never expires by time: only change notices refresh it."""
    slow = settings.model_copy(update={"layers_catalog_ttl_s": 3600.0})
    with LiveServer(slow) as a, LiveServer(slow) as b:
        yield a, b


def _parks(n: int = 4) -> bytes:
    feats = []
    for i in range(n):
        x, y = 106.615 + i * 0.008, -6.185 + i * 0.008
        ring = [[x, y], [x + 0.006, y], [x + 0.006, y + 0.006], [x, y + 0.006], [x, y]]
        feats.append({"type": "Feature", "properties": {"nama": f"Taman SINTETIS {i}", "luas": 1000 + i},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def _publish(url: str, key: str, n: int = 4) -> httpx.Response:
    return httpx.post(f"{url}/layers", params={"id": LAYER, "title": "Taman kota SINTETIS", "opd": "Dinas LH",
                                                "filename": "taman.geojson"},
                      content=_parks(n), headers={"X-API-Key": key}, timeout=120)


def _hits(url: str) -> int:
    r = httpx.get(f"{url}/ows", params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                         "TYPENAMES": LAYER, "RESULTTYPE": "hits"}, timeout=60)
    found = re.search(r'numberMatched="(\d+)"', r.text)
    return int(found.group(1)) if r.status_code == 200 and found else -1


def _layers_in_capabilities(url: str) -> set[str]:
    r = httpx.get(f"{url}/ows", params={"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"},
                  timeout=60)
    assert r.status_code == 200
    return set(re.findall(r"<Name>([a-z0-9_]+)</Name>", r.text))


def _until(predicate, what: str, seconds: float = 30.0):
    """Poll an observable condition (a change notice crossing to the other process) with a deadline."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.2)


def _getmap(url: str, style: str = "") -> Image.Image:
    r = httpx.get(f"{url}/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": LAYER,
                                         "STYLES": style, "CRS": "EPSG:4326", "BBOX": BBOX_130, "WIDTH": 200,
                                         "HEIGHT": 200, "FORMAT": "image/png"}, timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/png"), r.text[:400]
    return Image.open(io.BytesIO(r.content)).convert("RGB")


def _share(img: Image.Image, rgb: tuple[int, int, int], tol: int = 40) -> float:
    px = list(img.getdata())
    return sum(1 for p in px if all(abs(p[i] - rgb[i]) <= tol for i in range(3))) / len(px)


SLD_RED = b"""<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc">
  <NamedLayer><Name>taman</Name><UserStyle><Title>Taman merah (OPD)</Title><FeatureTypeStyle><Rule>
    <PolygonSymbolizer>
      <Fill><CssParameter name="fill">#d01010</CssParameter></Fill>
      <Stroke><CssParameter name="stroke">#202020</CssParameter>
        <CssParameter name="stroke-width">1</CssParameter></Stroke>
    </PolygonSymbolizer>
  </Rule></FeatureTypeStyle></UserStyle></NamedLayer>
</StyledLayerDescriptor>"""

HOSTILE = {
    "xxe": b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>&e;</Name>
</NamedLayer></StyledLayerDescriptor>""",
    "laughs": b"""<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>&b;</Name>
</NamedLayer></StyledLayerDescriptor>""",
    "external_graphic": b"""<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"
 xmlns:xlink="http://www.w3.org/1999/xlink"><NamedLayer><Name>x</Name><UserStyle><FeatureTypeStyle><Rule>
<PointSymbolizer><Graphic><ExternalGraphic><OnlineResource xlink:type="simple" xlink:href="http://169.254.169.254/x.png"/>
<Format>image/png</Format></ExternalGraphic></Graphic></PointSymbolizer></Rule></FeatureTypeStyle></UserStyle>
</NamedLayer></StyledLayerDescriptor>""",
    "file_mark": b"""<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer><Name>x</Name>
<UserStyle><FeatureTypeStyle><Rule><PointSymbolizer><Graphic><Mark><WellKnownName>file:///etc/passwd</WellKnownName>
</Mark></Graphic></PointSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>""",
    "not_sld": b"<html><body>hello</body></html>",
    "broken": b"<StyledLayerDescriptor version='1.0.0' xmlns='http://www.opengis.net/sld'><NamedLayer>",
    "no_symbolizer": b"""<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer>
<Name>x</Name><UserStyle><FeatureTypeStyle><Rule><Name>r</Name></Rule></FeatureTypeStyle></UserStyle></NamedLayer>
</StyledLayerDescriptor>""",
}


def test_publish_style_unpublish_across_processes(servers, admin_key, tmp_path):
    a, b = servers
    assert LAYER not in _layers_in_capabilities(b.url)  # B's catalog is now cached for an hour
    r = _publish(a.url, admin_key)
    assert r.status_code == 201, r.text
    _until(lambda: LAYER in _layers_in_capabilities(b.url), "published layer in B's capabilities")

    assert _hits(b.url) == 4
    assert _publish(a.url, admin_key, n=6).status_code == 201  # a new version with two more parks
    _until(lambda: _hits(b.url) == 6, "the republished layer's six features in B's WFS")

    plain = _getmap(b.url)
    plain.save(tmp_path / "standar.png")
    assert _share(plain, (208, 16, 16)) < 0.01

    up = httpx.post(f"{a.url}/layers/{LAYER}/styles", params={"name": "merah"}, content=SLD_RED,
                    headers={"X-API-Key": admin_key, "Content-Type": "application/vnd.ogc.sld+xml"}, timeout=60)
    assert up.status_code == 201, up.text
    assert up.json()["title"] == "Taman merah (OPD)"

    def b_draws_red() -> bool:
        return _share(_getmap(b.url), (208, 16, 16)) > 0.05

    _until(b_draws_red, "B draws the layer with the uploaded SLD as its default style")
    red = _getmap(b.url, "merah")
    red.save(tmp_path / "merah.png")
    assert _share(red, (208, 16, 16)) > 0.05
    assert _share(_getmap(b.url, "standar"), (208, 16, 16)) < 0.01  # the built-in style is still there

    legend = httpx.get(f"{b.url}/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic",
                                                "LAYER": LAYER, "FORMAT": "image/png", "STYLE": "merah"}, timeout=60)
    assert legend.status_code == 200 and legend.headers["content-type"].startswith("image/png")
    assert _share(Image.open(io.BytesIO(legend.content)).convert("RGB"), (208, 16, 16)) > 0

    assert httpx.delete(f"{a.url}/layers/{LAYER}", headers={"X-API-Key": admin_key}, timeout=60).status_code == 200
    _until(lambda: LAYER not in _layers_in_capabilities(b.url), "unpublished layer gone from B's capabilities")
    gone = httpx.get(f"{b.url}/ows", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap",
                                              "LAYERS": LAYER, "STYLES": "", "CRS": "EPSG:4326", "BBOX": BBOX_130,
                                              "WIDTH": 10, "HEIGHT": 10, "FORMAT": "image/png"}, timeout=60)
    assert gone.status_code == 400 and 'code="LayerNotDefined"' in gone.text


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_sld_refused(client, admin_key, name):
    r = client.post("/layers/lokasi_tps_tpa/styles", params={"name": "jahat"}, content=HOSTILE[name],
                    headers={"X-API-Key": admin_key, "Content-Type": "application/xml"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["parameter"] == "body" and "root:" not in r.text
    assert "SLD" in body["detail"]


def test_style_upload_needs_admin_and_a_published_layer(client, admin_key):
    assert client.post("/layers/lokasi_tps_tpa/styles", content=SLD_RED).status_code == 401
    r = client.post("/layers/tidak_ada/styles", content=SLD_RED, headers={"X-API-Key": admin_key})
    assert r.status_code == 404
    r = client.post("/layers/lokasi_tps_tpa/styles", params={"name": "kartografi"}, content=SLD_RED,
                    headers={"X-API-Key": admin_key})
    assert r.status_code == 422 and r.json()["parameter"] == "name"
