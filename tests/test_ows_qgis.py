"""QGIS 3.22 headless (Debian's python3-qgis, offscreen) adds the /ows layers as WMS and WFS and renders them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(not Path("/usr/lib/python3/dist-packages/qgis/core/__init__.py").exists(),
                                reason="python3-qgis (make test-system)")

SCRIPT = r"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qgis.core import (QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsRasterLayer, QgsRectangle,
                       QgsVectorLayer, QgsCoordinateReferenceSystem)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
app = QgsApplication([], False); app.initQgis()
base, out = sys.argv[1], sys.argv[2]
wms = QgsRasterLayer(f"contextualWMSLegend=0&crs=EPSG:4326&dpiMode=7&format=image/png&layers=kelurahan&styles="
                     f"&url={base}/ows", "kelurahan_wms", "wms")
wfs = QgsVectorLayer(f"pagingEnabled='true' srsname='EPSG:4326' typename='ms:kelurahan' url='{base}/ows' "
                     "version='2.0.0'", "kelurahan_wfs", "WFS")
ok = wfs.isValid()
result = {"wms_valid": wms.isValid(), "wfs_valid": ok, "wfs_count": wfs.featureCount() if ok else -1,
          "fields": [f.name() for f in wfs.fields()] if wfs.isValid() else [],
          "ciledug": sum(1 for f in wfs.getFeatures() if f["kec_nama"] == "Ciledug") if wfs.isValid() else -1}
for layer, name in ((wms, "wms"), (wfs, "wfs")):
    if not layer.isValid():
        continue
    ms = QgsMapSettings(); ms.setLayers([layer]); ms.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    ms.setExtent(QgsRectangle(106.55, -6.30, 106.75, -6.10)); ms.setOutputSize(QSize(500, 500))
    ms.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(ms); job.start(); job.waitForFinished()
    job.renderedImage().save(f"{out}/qgis_{name}.png", "PNG")
print(json.dumps(result))
"""


def test_qgis_adds_and_renders_wms_and_wfs(live_server, tmp_path):
    r = subprocess.run(["/usr/bin/python3", "-c", SCRIPT, live_server.url, str(tmp_path)], capture_output=True,
                       text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                   "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"})
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["wms_valid"] and result["wfs_valid"], result
    assert result["wfs_count"] == 104 and result["ciledug"] == 8
    assert {"kode", "nama", "kec_nama"} <= set(result["fields"])
    for name in ("wms", "wfs"):
        img = Image.open(tmp_path / f"qgis_{name}.png").convert("RGB")
        assert len(img.getcolors(1 << 20)) > 3, f"QGIS rendered a blank {name} map"
