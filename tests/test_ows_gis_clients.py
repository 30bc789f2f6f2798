"""GDAL's WMS and WFS drivers (the system GDAL's gdal_translate and ogrinfo) against /ows."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(shutil.which("gdal_translate") is None, reason="gdal-bin (make test-system)")


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF", "GDAL_DISABLE_READDIR_ON_OPEN":
           "EMPTY_DIR"}
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, env=env)


def test_gdal_wms_driver_renders_kelurahan(live_server, tmp_path):
    out = tmp_path / "kelurahan_gdal.png"
    url = (f"WMS:{live_server.url}/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=kelurahan&STYLES="
           "&CRS=EPSG:4326&BBOX=-6.30,106.55,-6.10,106.75&FORMAT=image/png")
    r = _run("gdal_translate", "-of", "PNG", "-outsize", "600", "600", url, str(out))
    assert r.returncode == 0, r.stderr
    img = Image.open(out).convert("RGB")
    assert img.size == (600, 600)
    assert len(img.getcolors(1 << 20)) > 5


def test_gdal_wfs_driver_reads_kelurahan(live_server):
    r = _run("ogrinfo", "-ro", "-so", f"WFS:{live_server.url}/ows?SERVICE=WFS&VERSION=2.0.0", "kelurahan")
    assert r.returncode == 0, r.stderr
    assert "Feature Count: 104" in r.stdout, r.stdout
    assert "kec_nama" in r.stdout and "nama" in r.stdout


def test_gdal_wfs_driver_attribute_filter(live_server):
    r = _run("ogrinfo", "-ro", "-where", "kec_nama = 'Ciledug'", "-fields=YES", "-geom=NO",
             f"WFS:{live_server.url}/ows?SERVICE=WFS&VERSION=2.0.0", "kelurahan")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("OGRFeature(") == 8, r.stdout[-2000:]
