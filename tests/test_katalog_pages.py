"""Geoportal pages /peta/katalog in headless Debian Chromium at phone and desktop sizes: search by text, OPD,
topic and place; a layer's page with its metadata, preview map, services and downloads; no request leaves the
machine, none fails. Screenshots go to <basetemp>/katalog_screenshots."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.conftest import CHROMIUM

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make system installs it)")
SIZES = {"hp": (390, 844), "desktop": (1400, 900)}


@pytest.fixture(scope="module")
def browser(browser_context):
    """The suite's one headless Chromium (tests/conftest.py); each page sets its own size."""
    return browser_context


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("katalog_screenshots", numbered=False)


def _visit(browser, live_server, path, size):
    page = browser.new_page()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    problems: list[str] = []
    host = urlparse(live_server.url).netloc
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    page.on("request", lambda r: problems.append(f"outside {r.url}")
            if urlparse(r.url).netloc not in (host, "") and not r.url.startswith("data:") else None)
    page.on("console", lambda m: problems.append(f"console {m.text}") if m.type == "error" else None)
    resp = page.goto(live_server.url + path, wait_until="load")
    return page, resp, problems


@pytest.mark.parametrize("size", list(SIZES))
def test_search_page(browser, live_server, shots, size):
    page, resp, problems = _visit(browser, live_server, "/peta/katalog", SIZES[size])
    assert resp.status == 200
    assert page.locator("h1").inner_text() == "Katalog data geospasial"
    assert page.locator("#hasil li").count() >= 8
    page.fill("input[name=q]", "kelurahan")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    titles = page.locator("#hasil li strong").all_inner_texts()
    assert "Kelurahan Kota Tangerang" in titles and "Gazetir wilayah Banten dan DKI Jakarta" not in titles
    page.screenshot(path=str(shots / f"katalog_cari_{size}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size][0]  # nothing wider than the screen
    # topic and place together: boundaries inside Kec. Ciledug
    page.goto(live_server.url + "/peta/katalog?topik=boundaries&tempat=Ciledug", wait_until="networkidle")
    titles = page.locator("#hasil li strong").all_inner_texts()
    assert "Kecamatan Kota Tangerang" in titles and "Titik penting OSM (cincin 3 km)" not in titles
    page.goto(live_server.url + "/peta/katalog?q=tidakadasamasekali", wait_until="networkidle")
    assert page.locator("#jumlah").inner_text().startswith("0 dataset")
    assert not problems, problems
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_layer_page(browser, live_server, shots, size):
    page, resp, problems = _visit(browser, live_server, "/peta/katalog/kelurahan", SIZES[size])
    assert resp.status == 200
    assert page.locator("h1").inner_text() == "Kelurahan Kota Tangerang"
    table = page.locator("table.meta").inner_text()
    for text in ("ADMINISTRASIDESA_AR", "Batas wilayah", "cahyadsn/wilayah_boundaries", "EPSG:4326", "36.71"):
        assert text in table, text
    downloads = page.locator("#unduh a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any(h.endswith("/unduh/kelurahan.gpkg") for h in downloads)
    assert any(h.endswith("/unduh/kelurahan.zip?crs=32748") for h in downloads)
    services = page.locator("#layanan").inner_text()
    assert "GetRecordById" in services and "/ogc/collections/kelurahan" in services
    frame = page.frame_locator("iframe")
    frame.locator(".leaflet-container").wait_for(timeout=30_000)
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=30_000)  # the kelurahan drawn
    page.wait_for_load_state("load")
    page.screenshot(path=str(shots / f"katalog_kelurahan_{size}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size][0]
    assert not problems, problems
    # a download link answers with the file
    r = page.request.get(next(h for h in downloads if h.endswith(".gpkg")))
    assert r.status == 200 and r.body()[:16] == b"SQLite format 3\x00"
    page.close()


def test_unknown_layer_and_place(client):
    assert client.get("/peta/katalog/tidak_ada").status_code == 404
    r = client.get("/peta/katalog", params={"tempat": "Atlantis"})
    assert r.status_code == 422 and r.json()["parameter"] == "tempat"
    r = client.get("/peta/katalog", params={"q": "<script>alert(1)</script>"})
    assert r.status_code == 200 and "<script>alert" not in r.text
