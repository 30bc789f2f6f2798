"""Hostile layer uploads: a file is read only by the driver of its declared format, GDAL never reaches the network,
damaged archives and files without coordinates are 4xx, coordinates outside the declared CRS are rejected, and
every publish/restore/unpublish (HTTP or CLI) is in the audit log with who did it."""

from __future__ import annotations

import getpass
import http.server
import io
import json
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo_api.errors import SatuPetaError
from layers import publish as pub
from tests.test_layers_publish import _assert_refused, _cli, _geojson_bytes, _post, _roads, _shapefile_zip

OS_RELEASE_VRT = ('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/os-release</SrcDataSource>'
                  '<GeometryType>wkbNone</GeometryType></OGRVRTLayer></OGRVRTDataSource>\n')


@pytest.fixture(scope="module")
def admin_key(settings) -> str:
    r = _cli(settings, "keys", "create", "hostile-layers-test", "--role", "gis_admin")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


class _Listener:
    """A local HTTP server that counts every request it receives."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                body = b"nama,lon,lat\nbocor,106.63,-6.17\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture()
def listener() -> Iterator[_Listener]:
    ls = _Listener()
    ls.thread.start()
    yield ls
    ls.server.shutdown()
    ls.server.server_close()


def test_vrt_uploaded_as_csv_reads_no_server_file(client, admin_key):
    r = _post(client, admin_key, OS_RELEASE_VRT.encode(), id="os_release", filename="x.csv")
    _assert_refused(r, 422, "csv expected")
    assert "vrt" in r.json()["detail"].lower() or "another data source" in r.json()["detail"]
    assert client.get("/ogc/collections/os_release").status_code == 404
    assert client.get("/layers/os_release", headers={"X-API-Key": admin_key}).status_code == 404


def test_csv_is_opened_by_the_csv_driver_only(tmp_path):
    # past the content check, GDAL itself still reads the VRT as a CSV table: a header line and no rows
    path = tmp_path / "layer.csv"
    path.write_text(OS_RELEASE_VRT)
    limits = pub.Limits(1 << 20, 1 << 20, 100, 1000)
    with pytest.raises(SatuPetaError) as err:
        pub.read_layer(path, "csv", limits)
    assert err.value.status == 422 and "no features" in err.value.detail  # VRT would find os-release lines
    info = pyogrio.read_info(f"CSV:{path}")
    assert info["driver"] == "CSV" and "ID=" not in " ".join(info["fields"])


def test_vsicurl_in_an_upload_sends_no_request(client, admin_key, listener, tmp_path):
    vrt = OS_RELEASE_VRT.replace("CSV:/etc/os-release", f"/vsicurl/{listener.url}/titik.csv")
    _assert_refused(_post(client, admin_key, vrt.encode(), id="jarak_jauh", filename="x.csv"), 422, "csv expected")
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "src": f"/vsicurl/{listener.url}/a.geojson"}, "geometry": {"type": "Point", "coordinates": [106.6, -6.2]}}]}
    _assert_refused(_post(client, admin_key, json.dumps(fc).encode(), id="jarak_jauh"), 422, "geojson expected")
    # a Shapefile whose .dbf names a remote source
    shp = _shapefile_zip(tmp_path, extra={"data/tps.CPG": f"/vsicurl/{listener.url}/c"})
    _assert_refused(_post(client, admin_key, shp, id="jarak_jauh", filename="j.zip"), 422, "shapefile expected")
    assert listener.hits == []
    assert client.get("/ogc/collections/jarak_jauh").status_code == 404


_NETWORK_PROBE = """
import sys, pyogrio
{setup}
url = sys.argv[1]
for name in (f"/vsicurl/{{url}}/a.csv", f"/vsicurl?url={{url}}/b.geojson", f"GeoJSON:{{url}}/c.geojson",
             f"CSV:/vsicurl/{{url}}/d.csv", f"/vsicurl_streaming/{{url}}/e.geojson", f"WFS:{{url}}/f",
             f"OAPIF:{{url}}/g"):
    try:
        pyogrio.read_info(name)
        print("READ", name)
    except Exception:
        pass
"""


@pytest.mark.parametrize("setup", ["from geo_api.app import create_app", "import layers.publish"],
                         ids=["server", "cli-and-library"])
def test_gdal_network_is_off_in_the_process(listener, setup):
    r = subprocess.run([sys.executable, "-c", _NETWORK_PROBE.format(setup=setup), listener.url],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "READ" not in r.stdout
    assert listener.hits == []


def test_the_probe_reaches_the_listener_without_the_lockdown(listener):
    # the probe itself works: plain pyogrio (no platform import) does send requests to the listener
    r = subprocess.run([sys.executable, "-c", _NETWORK_PROBE.format(setup=""), listener.url],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert listener.hits


def _corrupt(member_bytes: bytes, kind: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("t.shp", "t.shx", "t.dbf", "t.prj"):
            zf.writestr(name, member_bytes)
    data = bytearray(buf.getvalue())
    first = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    start = first.header_offset + 30 + len(first.filename)  # the first member's compressed bytes
    if kind == "deflate":
        data[start:start + 8] = b"\xff" * 8
    else:  # crc: the central directory's CRC of the first member
        cd = data.find(b"PK\x01\x02")
        data[cd + 16:cd + 20] = b"\0\0\0\0"
    return bytes(data)


@pytest.mark.parametrize("kind", ["deflate", "crc"])
def test_damaged_zip_is_422(client, admin_key, kind):
    body = _corrupt(b"\x00\x00\x27\x0a" + b"isi shapefile " * 200, kind)
    _assert_refused(_post(client, admin_key, body, id="zip_rusak", filename="r.zip"), 422, "damaged")
    assert client.get("/ogc/collections/zip_rusak").status_code == 404


def test_csv_without_coordinates_is_422(client, admin_key):
    r = _post(client, admin_key, b"nama,alamat\nPos 1,Jl. Merdeka\n", id="tanpa_koordinat", filename="p.csv")
    _assert_refused(r, 422, "coordinate columns")
    assert r.json().get("parameter") == "file"


def test_point_outside_the_declared_crs_is_rejected(client, admin_key):
    fc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
          "features": [{"type": "Feature", "properties": {"nama": "jauh"},
                        "geometry": {"type": "Point", "coordinates": [1e30, 1e30]}}]}
    r = _post(client, admin_key, json.dumps(fc).encode(), id="di_luar_crs")
    _assert_refused(r, 422, "rejected")
    assert "batas sah" in r.json()["report"]["rejected"][0]["reason"]
    fc["features"].append({"type": "Feature", "properties": {"nama": "dekat"},
                           "geometry": {"type": "Point", "coordinates": [11871000.0, -689000.0]}})
    r = _post(client, admin_key, json.dumps(fc).encode(), id="di_luar_crs")
    assert r.status_code == 201, r.text
    assert r.json()["report"]["published"] == 1 and r.json()["report"]["rejected"][0]["feature"] == 0
    lon, lat = client.get("/ogc/collections/di_luar_crs/items").json()["features"][0]["geometry"]["coordinates"][0]
    assert 106 < lon < 107 and -7 < lat < -6


def _audit(db, objek: str) -> list[dict]:
    rows = db.execute("SELECT oleh, aksi, api_key_id FROM audit_log WHERE objek = %s ORDER BY id", (objek,)).fetchall()
    db.rollback()
    return rows


def test_cli_and_http_layer_writes_are_audited_with_the_actor(settings, client, admin_key, db, tmp_path):
    path = tmp_path / "gorong.geojson"
    path.write_bytes(_geojson_bytes(_roads(2)))
    for args in (("publish", str(path), "--id", "gorong", "--title", "Gorong-gorong", "--opd", "DPUPR"),
                 ("publish", str(path), "--id", "gorong", "--title", "Gorong-gorong", "--opd", "DPUPR"),
                 ("restore", "gorong", "--version", "1"), ("unpublish", "gorong")):
        r = _cli(settings, "layers", *args)
        assert r.returncode == 0, r.stderr
    assert _post(client, admin_key, _geojson_bytes(_roads(3)), id="gorong").status_code == 201
    rows = _audit(db, "layer:gorong")
    me = f"cli:{getpass.getuser()}"
    assert [(r["oleh"], r["aksi"]) for r in rows] == [
        (me, "layer.publish"), (me, "layer.publish"), (me, "layer.restore"), (me, "layer.unpublish"),
        ("api_key:hostile-layers-test", "layer.publish")]
    assert rows[-1]["api_key_id"] is not None
    listed = client.get("/layers/gorong", headers={"X-API-Key": admin_key}).json()
    assert {v["published_by"] for v in listed["versions"]} == {getpass.getuser(), "hostile-layers-test"}


def test_a_failed_cli_write_leaves_no_audit_row(settings, db):
    assert _cli(settings, "layers", "restore", "tidak_ada", "--version", "1").returncode != 0
    assert _audit(db, "layer:tidak_ada") == []


_LIMITS = pub.Limits(1 << 20, 4 << 20, 50, 1000)
_NAMES = {"geojson": "f.geojson", "gpkg": "f.gpkg", "shapefile": "f.zip", "csv": "f.csv"}
_HEADS = {"geojson": b"{", "gpkg": b"SQLite format 3\0", "shapefile": b"PK\x03\x04", "csv": b"a,lon,lat\n"}


@pytest.mark.parametrize("fmt", list(_NAMES))
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(min_size=0, max_size=600))
def test_random_bytes_in_any_declared_format_are_4xx(tmp_path, fmt, body):
    # with and without the format's magic first bytes, so both the sniffing and GDAL's driver see the noise
    for data in (body, _HEADS[fmt] + body):
        work = tmp_path / f"w{abs(hash(data))}"
        work.mkdir(exist_ok=True)
        src = work / "upload"
        src.write_bytes(data)
        try:
            pub.prepare(src, _NAMES[fmt], work, _LIMITS, fmt=fmt)
        except SatuPetaError as exc:
            assert 400 <= exc.status < 500, exc
        finally:
            for p in work.iterdir():
                p.unlink()
            work.rmdir()


@hsettings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12), st.text(max_size=12)), max_size=5),
       header=st.sampled_from(["nama,lon,lat", "nama,x,y", "a,b,c", "lon;lat", ""]))
def test_random_csv_text_is_4xx_or_published_rows(rows, header):
    text = header + "\n" + "\n".join(",".join(r) for r in rows)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "upload"
        src.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            prep = pub.prepare(src, "f.csv", Path(tmp), _LIMITS, fmt="csv")
        except SatuPetaError as exc:
            assert 400 <= exc.status < 500, exc
        else:
            assert prep.rows
