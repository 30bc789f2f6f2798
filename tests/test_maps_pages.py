"""The /peta pages over HTTP and the builders directly: offline assets, escaping, parameters, export."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import folium
import pytest
from folium.plugins import Fullscreen

from maps.armada import ArmadaData, build_armada_map
from maps.assets import VENDORED, UnvendoredAsset, localise, static_root
from maps.base import BaseData, MapOptions
from sql import query

CDN = re.compile(r"cdn\.jsdelivr|cdnjs|unpkg\.com|code\.jquery|netdna|bootstrapcdn|googleapis", re.I)
SATUPETA = str(Path(sys.executable).parent / "satupeta")
PAGES = ("/peta", "/peta/layer/poi", "/peta/laporan", "/peta/armada", "/peta/dasbor")


@pytest.fixture(scope="module")
def seeded(settings):
    from geo_api.db import connect
    from tests.maps_seed import seed_armada, seed_laporan

    with connect(settings) as conn:
        return {"laporan": seed_laporan(conn), "armada": seed_armada(conn, settings.fleet_timezone)}


def _loaded_urls(html: str) -> list[str]:
    """URLs the browser would fetch: script src and link href (the inline data: favicon fetches nothing)."""
    found = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+)"', html)
    return [u for u in found if not u.startswith("data:")]


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_only_local_assets(client, seeded, path):
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert not CDN.search(r.text)
    for url in _loaded_urls(r.text):
        assert url.startswith("/peta/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url


def test_every_vendored_file_exists_with_its_licence():
    root = static_root()
    for local in VENDORED.values():
        assert (root / local).is_file(), local
    for folder in (root / "vendor").iterdir():
        if folder.is_dir():
            assert any(p.name.upper().startswith(("LICENSE", "MIT-LICENCE")) for p in folder.iterdir()), folder


def test_unvendored_plugin_is_refused():
    m = folium.Map(tiles=None)
    Fullscreen().add_to(m)
    with pytest.raises(UnvendoredAsset, match="Control.FullScreen"):
        localise(m.get_root(), "/peta/static/")


def test_report_text_is_escaped_in_the_page_source(client, seeded):
    from tests.maps_seed import LAYANAN, XSS

    html = client.get(f"/peta/laporan?layanan={LAYANAN}").text
    assert XSS not in html
    assert "<script>alert" not in html
    assert "\\u003cscript\\u003ealert" in html  # the description travels as JSON text with < and > escaped


def test_laporan_points_in_bbox(client, seeded):
    from tests.maps_seed import LAYANAN

    everything = client.get("/peta/laporan/titik.json", params={"layanan": LAYANAN, "bbox": "106,-7,107,-6"}).json()
    assert len(everything["titik"]) == seeded["laporan"]["n"] and everything["terpotong"] is False
    p = everything["titik"][0]
    box = f"{p['lon'] - 1e-6},{p['lat'] - 1e-6},{p['lon'] + 1e-6},{p['lat'] + 1e-6}"
    few = client.get("/peta/laporan/titik.json", params={"layanan": LAYANAN, "bbox": box}).json()["titik"]
    assert p["id"] in {x["id"] for x in few} and len(few) < len(everything["titik"])
    assert "pelapor_email" not in p


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/peta/laporan", {"layanan": "tidak_ada"}, "layanan"),
    ("/peta/laporan", {"opd": "tidak-ada"}, "opd"),
    ("/peta/laporan/titik.json", {"bbox": "106,-7,107,-6", "dari": "2026-02-01", "sampai": "2026-01-01"}, "sampai"),
    ("/peta/laporan/titik.json", {"bbox": "1,2,3"}, "bbox"),
    ("/peta/laporan/titik.json", {"bbox": "10,0,5,1"}, "bbox"),
])
def test_bad_parameters_are_422_problems(client, seeded, path, params, parameter):
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert parameter in r.text


@pytest.mark.parametrize(("path", "params"), [
    ("/peta/laporan", {"dari": "2026-02-01", "sampai": "2026-01-01", "status": "open", "opd": "<x>"}),
    ("/peta/dasbor", {"dari": "2026-02-01", "sampai": "2026-01-01"}),
])
def test_bad_period_on_a_page_answers_a_page_in_bahasa_keeping_what_was_typed(client, path, params):
    r = client.get(path, params=params)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="id">' in r.text and "Tanggal akhir sebelum tanggal awal" in r.text
    assert 'name="dari" value="2026-02-01"' in r.text and 'name="sampai" value="2026-01-01"' in r.text
    if "status" in params:
        assert 'name="status" value="open"' in r.text and 'value="&lt;x&gt;"' in r.text and "<x>" not in r.text


def test_bad_status_and_date_are_422(client):
    assert client.get("/peta/laporan", params={"status": "hilang"}).status_code == 422
    assert client.get("/peta/dasbor", params={"dari": "kemarin"}).status_code == 422


def test_unknown_layer_and_static_escape_are_404(client):
    assert client.get("/peta/layer/tidak_ada").status_code == 404
    for path in ("/peta/static/../../geo_api/settings.py", "/peta/static/..%2F..%2Fgeo_api%2Fsettings.py",
                 "/peta/static/vendor/tidak-ada.js", "/peta/static/vendor"):
        assert client.get(path).status_code == 404, path


def _tiny_base() -> BaseData:
    square = ('{"type":"MultiPolygon","coordinates":'
              '[[[[106.6,-6.2],[106.7,-6.2],[106.7,-6.1],[106.6,-6.1],[106.6,-6.2]]]]}')
    kel = [{"kode": "36.71.01.1001", "nama": "Sukasari <b>", "kec_nama": "Tangerang", "kec_kode": "36.71.01",
            "label_lat": -6.15, "label_lon": 106.65, "geometry": square}]
    kec = [{"kode": "36.71.01", "nama": "Tangerang", "label_lat": -6.15, "label_lon": 106.65, "geometry": square}]
    return BaseData(kelurahan=kel, kecamatan=kec, sekitar=[], bounds=(106.6, -6.2, 106.7, -6.1),
                    attributions=[{"attribution": "Batas <wilayah> & kode", "title": "t", "licence": "MIT", "id": "x"}])


def test_armada_sites_and_tile_setting_use_no_cdn():
    data = ArmadaData(day=date(2026, 1, 5), live=[], sites=[{"nama": "TPA Rawa <Kucing>", "jenis": "TPA",
                                                            "lat": -6.15, "lon": 106.65}],
                      visits=[{"plat_nomor": "B 1 X", "nama": "TPA Rawa <Kucing>", "jenis": "TPA", "datang": "07:00",
                               "pergi": "07:30", "menit": 30}], sites_published=True)
    html = build_armada_map(_tiny_base(), data, MapOptions(), 10)
    assert "sp-site" in html and not CDN.search(html)
    assert "TPA Rawa <Kucing>" not in html and "Sukasari <b>" not in html
    assert "Batas \\u0026lt;wilayah\\u0026gt; \\u0026amp; kode" in html  # escaped HTML, as JSON text
    assert "tile.openstreetmap" not in html and "L.tileLayer" not in html
    tiled = build_armada_map(_tiny_base(), data, MapOptions(tile_url="http://peta.intranet/{z}/{x}/{y}.png",
                                                            tile_attribution="Dinas Kominfo"), 10)
    assert "http://peta.intranet/{z}/{x}/{y}.png" in tiled and "Dinas Kominfo" in tiled


def test_export_writes_standalone_pages(settings, seeded, tmp_path):
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    out = tmp_path / "peta"
    run = subprocess.run([SATUPETA, "maps", "build", str(out)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    for name in ("index.html", "laporan.html", "armada.html", "dasbor.html", "layer-poi.html"):
        html = (out / name).read_text(encoding="utf-8")
        assert not CDN.search(html), name
        for url in _loaded_urls(html):
            assert (out / url).is_file(), (name, url)
    assert 'href="laporan.html"' in (out / "index.html").read_text(encoding="utf-8")


def test_export_fails_cleanly_without_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    run = subprocess.run([SATUPETA, "maps", "build", str(tmp_path / "x")], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "error:" in run.stderr and "Traceback" not in run.stderr


def test_grid_aggregation_counts_every_report(settings, seeded):
    from geo_api.db import connect
    from maps.laporan import LaporanFilter, load_laporan

    async def _load():
        import psycopg
        from psycopg.rows import dict_row

        async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row) as conn:
            return await load_laporan(conn, LaporanFilter(), inline_max=5)

    result = {}
    # a thread of its own: asyncio.run() refuses to run where another event loop is running
    job = threading.Thread(target=lambda: result.setdefault("data", asyncio.run(_load())))
    job.start()
    job.join()
    data = result["data"]
    with connect(settings) as conn:
        total = conn.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
    assert data.titik is None and data.total == total
    assert sum(g["n"] for g in data.grid) == total
    assert sum(data.per_kelurahan.values()) <= total


def test_armada_with_a_lone_fix_today(client, settings, db, seeded):
    """A truck with one fix today has no track line; the map still renders (its stop/visit lists stay empty)."""
    if not db.execute("SELECT 1 FROM fleet.vehicle WHERE plat_nomor = 'B 9100 UJI'").fetchone():
        vid = db.execute("INSERT INTO fleet.vehicle (plat_nomor, jenis) VALUES ('B 9100 UJI', 'pickup') "
                         "RETURNING id").fetchone()["id"]
        did = db.execute("INSERT INTO fleet.device (unique_id, vehicle_id) VALUES ('uji-peta-sendiri', %s) "
                         "RETURNING id", (vid,)).fetchone()["id"]
        db.execute("INSERT INTO fleet.position (device_id, fix_time, lat, lon) VALUES (%s, now(), -6.18, 106.63)",
                   (did,))
        db.execute(query("fleet_device_refresh_last"), {"ids": [did]})  # as an import does: the live view sees it
        db.commit()
    r = client.get("/peta/armada")
    assert r.status_code == 200, r.text
    # what a person checks: the truck is on the map at its one fix, with no track line and no stop drawn for it
    config = json.loads(re.search(r"SP\.armada\([^,]+, (\{.*?\})\);", r.text, re.S).group(1))
    [truck] = [f for f in config["features"] if f["properties"]["plat_nomor"] == "B 9100 UJI"]
    assert truck["geometry"]["coordinates"] == [106.63, -6.18]
    assert "Lintasan B 9100 UJI" not in r.text and "B 9100 UJI berhenti" not in r.text


@pytest.mark.parametrize("path", [*PAGES, "/docs"])
def test_every_page_is_in_bahasa_and_lets_phones_pinch_zoom(client, seeded, path):
    r = client.get(path)
    assert r.status_code == 200, r.text
    head = r.text[:400].lower()
    assert 'lang="id"' in head or "lang='id'" in head
    assert "user-scalable=no" not in r.text and "maximum-scale=1" not in r.text


def test_docs_loads_a_swagger_ui_that_reads_openapi_3_1_from_this_server(client):
    from maps.assets import SWAGGER_UI

    page = client.get("/docs").text
    assert f"/peta/static/vendor/{SWAGGER_UI}/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert int(SWAGGER_UI.rsplit("-", 1)[1].split(".")[0]) >= 5  # Swagger UI reads OpenAPI 3.1 from 5.0
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        assert client.get(f"/peta/static/vendor/{SWAGGER_UI}/{asset}").status_code == 200
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


@pytest.mark.parametrize("path", ["/peta/laporan", "/peta/armada", "/peta/dasbor"])
def test_pages_say_data_sintetis_exactly_when_the_demo_data_is_there(client, seeded, db, path):
    row = db.execute("SELECT EXISTS (SELECT 1 FROM laporan WHERE deskripsi LIKE 'Contoh (sintetis)%%') "
                     "OR EXISTS (SELECT 1 FROM fleet.vehicle WHERE plat_nomor LIKE '%% SIM') AS s").fetchone()
    synthetic = row["s"] if isinstance(row, dict) else row[0]
    assert ("DATA SINTETIS" in client.get(path).text) is synthetic


def test_data_sintetis_banner_and_one_opd_colour_table():
    from maps.laporan import LaporanData, LaporanFilter, build_laporan_map
    from maps.warna import DISTINCT, LAINNYA, contrast, opd_palette, text_on

    for fill in (*DISTINCT, LAINNYA):
        assert contrast(fill, text_on(fill)) >= 4.5, fill
    rank = [{"kode": f"opd{i}", "singkatan": f"O{i}", "nama": f"OPD {i}"} for i in range(12)]
    pal = opd_palette(rank)
    assert len({pal[f"opd{i}"].fill for i in range(len(DISTINCT))}) == len(DISTINCT)
    assert {pal[f"opd{i}"].fill for i in range(len(DISTINCT), 12)} == {LAINNYA}
    assert pal["opd0"].kode_singkat == "O0"
    page = build_laporan_map(_tiny_base(), LaporanData(0, [], {}, [], [], []), LaporanFilter(),
                             MapOptions(sintetis=True))
    assert "DATA SINTETIS" in page and '<html lang="id">' in page


def test_dasbor_says_who_is_late_where_and_each_cell_opens_the_laporan_map_filtered_to_it(client, seeded, db):
    from html import unescape

    page = client.get("/peta/dasbor", params={"dari": "2020-01-01"}).text
    assert "id='opd-kecamatan'" in page
    links = re.findall(r"<a href='(/peta/laporan\?[^']+)' title='[^']*'[^>]*>(\d+)", page)
    assert links
    for href, n in links[:3]:
        sub = client.get(unescape(href))
        assert sub.status_code == 200
        assert f"{n} laporan (" in sub.text  # the map's subtitle counts exactly the cell's laporan
    assert client.get("/peta/laporan", params={"kecamatan": "99.99"}).status_code == 422
    empty = client.get("/peta/dasbor", params={"dari": "1990-01-01", "sampai": "1990-01-02"}).text
    assert "Tidak ada laporan terbuka pada periode ini." in empty


def test_ogc_html_pages_speak_bahasa_page_on_in_html_and_lead_back_to_the_maps(client):
    page = client.get("/ogc/collections/kelurahan/items", params={"f": "html", "limit": 2}).text
    nxt = re.search(r"<a rel='next' href='([^']+)'>Berikutnya</a>", page)
    assert nxt and "f=html" in nxt.group(1)
    assert "href='/peta'" in page and "Halaman ini" in page
    follow = client.get(nxt.group(1).replace("&amp;", "&"))
    assert follow.status_code == 200 and follow.headers["content-type"].startswith("text/html")
    assert "Sebelumnya" in follow.text
    landing = client.get("/ogc", params={"f": "html"}).text
    assert "Kesesuaian standar" in landing and "Deskripsi layanan (OpenAPI)" in landing
