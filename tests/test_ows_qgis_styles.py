"""QGIS 3.22 headless (Debian's python3-qgis, offscreen) draws a published layer with its uploaded SLD through our
WMS: the layer's default (its newest uploaded style) and the style named in STYLES come out in the SLD's colours,
and the built-in "standar" style does not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.test_ows_styles import _cli, _parks, _poly, _sld

pytestmark = pytest.mark.skipif(not Path("/usr/lib/python3/dist-packages/qgis/core/__init__.py").exists(),
                                reason="python3-qgis (make test-system)")

LAYER = "taman_qgis_gaya"
MAGENTA = (192, 24, 144)
SLD_MAGENTA = _sld(LAYER, "Taman magenta (OPD)", _poly("#c01890"))

SCRIPT = r"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qgis.core import (QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsRasterLayer, QgsRectangle,
                       QgsCoordinateReferenceSystem)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
app = QgsApplication([], False); app.initQgis()
base, layer, out = sys.argv[1], sys.argv[2], sys.argv[3]
valid = {}
for style in sys.argv[4:]:
    name = style or "default"
    wms = QgsRasterLayer(f"contextualWMSLegend=0&crs=EPSG:4326&dpiMode=7&format=image/png&layers={layer}"
                         f"&styles={style}&url={base}/ows", f"{layer}_{name}", "wms")
    valid[name] = wms.isValid()
    if not wms.isValid():
        continue
    ms = QgsMapSettings(); ms.setLayers([wms]); ms.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    ms.setExtent(QgsRectangle(106.61, -6.19, 106.65, -6.15)); ms.setOutputSize(QSize(400, 400))
    ms.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(ms); job.start(); job.waitForFinished()
    job.renderedImage().save(f"{out}/qgis_{name}.png", "PNG")
print(json.dumps(valid))
"""


def _share(img: Image.Image, rgb: tuple[int, int, int], tol: int = 36) -> float:
    colours = img.getcolors(1 << 24)
    near = sum(n for n, p in colours if all(abs(p[i] - rgb[i]) <= tol for i in range(3)))
    return near / (img.width * img.height)


@pytest.fixture(scope="module")
def magenta_layer(live_server, settings):
    r = _cli(settings, "keys", "create", "dinas-lh-qgis-gaya-test", "--role", "gis_admin")
    assert r.returncode == 0, r.stderr
    h = {"X-API-Key": r.stdout.strip().splitlines()[-1]}
    r = httpx.post(f"{live_server.url}/layers", params={"id": LAYER, "title": "Taman kota SINTETIS (QGIS gaya)",
                                                        "opd": "Dinas LH", "filename": f"{LAYER}.geojson"},
                   content=_parks(), headers=h, timeout=120)
    assert r.status_code == 201, r.text
    r = httpx.post(f"{live_server.url}/layers/{LAYER}/styles", params={"name": "magenta"}, content=SLD_MAGENTA,
                   headers={**h, "Content-Type": "application/vnd.ogc.sld+xml"}, timeout=120)
    assert r.status_code == 201, r.text
    yield live_server
    httpx.delete(f"{live_server.url}/layers/{LAYER}", headers=h, timeout=60)


def test_qgis_draws_the_uploaded_sld_in_its_colours(magenta_layer, tmp_path):
    r = subprocess.run(["/usr/bin/python3", "-c", SCRIPT, magenta_layer.url, LAYER, str(tmp_path), "", "magenta",
                        "standar"], capture_output=True, text=True, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
                            "LANG": "C.UTF-8"})
    assert r.returncode == 0, r.stderr[-2000:]
    valid = json.loads(r.stdout.strip().splitlines()[-1])
    assert valid == {"default": True, "magenta": True, "standar": True}, valid
    shares = {n: _share(Image.open(tmp_path / f"qgis_{n}.png").convert("RGB"), MAGENTA)
              for n in ("default", "magenta", "standar")}
    # four parks of 60x60 px in 400x400 (~9 %), outlined: most of their inside is the SLD's fill
    assert shares["default"] > 0.04 and shares["magenta"] > 0.04, shares
    assert shares["standar"] == 0, shares
    standar = Image.open(tmp_path / "qgis_standar.png").convert("RGB")
    assert len(standar.getcolors(1 << 20)) > 2, "QGIS drew a blank map in the standard style"
