"""The maps as a person sees them: each page loaded from the live server in headless Debian Chromium.

Checks per page: no failed request, no request leaving the machine, no console error, the expected number
of features/markers/clusters and the legend text. Screenshots go to <basetemp>/peta_screenshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM
from tests.maps_seed import at_rest

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make system installs it)")


@dataclass
class Visit:
    """What happened while a page loaded."""

    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.outside, f"requests left the machine: {self.outside}"
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.console_errors, f"console errors: {self.console_errors}"


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("peta_screenshots", numbered=False)


@pytest.fixture()
def open_page(browser_context, live_server, shots):
    """Open a path of the live server; returns (page, visit); screenshots after the test body ran."""
    opened = []

    def _open(path: str, name: str, ready: str = "SP.ready === true"):
        page = browser_context.new_page()
        visit = Visit()
        page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: visit.console_errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: visit.failed.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r: visit.failed.append(f"{r.url} HTTP {r.status}") if r.status >= 400 else None)

        def _route(route):
            if route.request.url.startswith((live_server.url, "data:", "file://", "about:")):
                route.continue_()
            else:
                visit.outside.append(route.request.url)
                route.abort()

        page.route("**/*", _route)
        page.goto(path if path.startswith("file://") else live_server.url + path, wait_until="load")
        page.wait_for_function(ready, timeout=30_000)
        at_rest(page)
        opened.append((page, name))
        return page, visit

    yield _open
    for page, name in opened:
        at_rest(page)  # popups fade in, a zoom the test asked for ends
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        page.close()


def _count(page, selector: str) -> int:
    return page.locator(selector).count()


def test_index_lists_maps_and_layers(open_page, live_server):
    page, visit = open_page("/peta", "index", ready="document.readyState === 'complete'")
    visit.assert_clean()
    assert _count(page, "#daftar-peta li") == 3
    assert page.locator("#daftar-lapisan a", has_text="Kelurahan Kota Tangerang").count() == 1
    # the catalogue, the citizen form and the API docs are one click away, and every map leads back here
    links = page.eval_on_selector_all("#daftar-halaman a", "as => as.map(a => a.getAttribute('href'))")
    assert {"/peta/katalog", "/lapor", "/docs", "/ogc/collections"} <= set(links)
    for href in links:
        assert page.request.get(live_server.url + href).status == 200, href
    for href in page.eval_on_selector_all("#daftar-peta a", "as => as.map(a => a.getAttribute('href'))"):
        body = page.request.get(live_server.url + href).text()
        assert 'href="/peta"' in body, href


def test_layer_map_of_poi(open_page, db):
    n_poi = db.execute("SELECT count(*) AS n FROM poi").fetchone()["n"]
    page, visit = open_page("/peta/layer/poi", "layer_poi")
    visit.assert_clean()
    # 104 kelurahan + 13 kecamatan + 6 kab/kota sekitar outlines, then one circle per POI (SVG paths)
    assert _count(page, "path.leaflet-interactive") >= 104 + 6 + n_poi
    assert _count(page, ".sp-label-kec") == 13
    legend = page.inner_text("#legenda")
    assert "Legenda" in legend and "Titik penting OSM" in legend
    attribution = page.inner_text(".leaflet-control-attribution")
    assert "OpenStreetMap" in attribution and "cahyadsn" in attribution
    assert _count(page, ".leaflet-control-scale-line") >= 1


@pytest.fixture(scope="module")
def laporan_facts(settings):
    from geo_api.db import connect
    from tests.maps_seed import seed_laporan

    with connect(settings) as conn:
        return seed_laporan(conn)


def _cluster_total(page) -> int:
    """Laporan on screen: the numbers on the cluster bubbles plus the single markers, once the map is at rest
    (during a zoom animation the leaving and the arriving markers are both in the page)."""
    at_rest(page)
    counts = page.locator(".marker-cluster span").all_inner_texts()
    return sum(int(c.replace(".", "")) for c in counts) + _count(page, ".sp-lap")


def test_laporan_map_clusters_every_report_and_escapes_text(open_page, laporan_facts):
    from tests.maps_seed import LAYANAN, XSS

    page, visit = open_page(f"/peta/laporan?layanan={LAYANAN}", "laporan")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    visit.assert_clean()
    assert page.evaluate("SP.stats.points") == laporan_facts["n"]
    assert _cluster_total(page) == laporan_facts["n"]
    legend = page.inner_text("#legenda")
    for text in ("OPD tujuan", "Laporan per kelurahan"):
        assert text in legend
    # short OPD names in the legend, the full name on hover
    hover = page.evaluate("[...document.querySelectorAll('#legenda li')].map(li => li.title).join('|')")
    for text in ("Dinas Uji A", "Dinas Uji B"):
        assert text in hover
    assert page.locator(".sp-handoff", has_text="Diserahkan ke").count() == 1
    assert _count(page, "path.sp-handoff-line") == laporan_facts["serah"]
    assert page.locator("#filter select[name=layanan] option[selected]").inner_text() == "Uji peta: jalan rusak"
    # open the popup of the laporan whose description is an HTML/script injection attempt
    page.evaluate("""id => new Promise(done => {
        const m = SP.cluster.getLayers().find(l => l.options.title === 'Laporan #' + id);
        SP.cluster.zoomToShowLayer(m, () => { m.openPopup(); done(); });
    })""", laporan_facts["xss_id"])
    page.wait_for_selector(".leaflet-popup-content .sp-desc")
    assert page.inner_text(".leaflet-popup-content .sp-desc") == XSS
    assert page.locator(".leaflet-popup-content script, .sp-desc b").count() == 0
    assert "Diarahkan ke" in page.inner_text(".leaflet-popup-content .sp-reason")
    assert not dialogs
    visit.assert_clean()


@pytest.fixture(scope="module")
def armada_facts(settings):
    from geo_api.db import connect
    from tests.maps_seed import seed_armada

    with connect(settings) as conn:
        facts = seed_armada(conn, settings.fleet_timezone)
        facts["live"] = conn.execute("SELECT count(DISTINCT v.id) AS n FROM fleet.vehicle v JOIN fleet.device d "
                                     "ON d.vehicle_id = v.id WHERE v.aktif AND d.last_fix_time IS NOT NULL"
                                     ).fetchone()["n"]
    return facts


def test_armada_map_moves_trucks_without_reload(open_page, armada_facts, settings):
    from geo_api.db import connect

    page, visit = open_page("/peta/armada?refresh=1", "armada")
    visit.assert_clean()
    assert page.evaluate("SP.stats.trucks") == armada_facts["live"]
    assert _count(page, ".sp-truck") == armada_facts["live"]
    assert _count(page, "path.sp-track") >= len(armada_facts["vehicles"])
    vid = armada_facts["vehicles"][0]
    assert "B 9001 UJI" in page.evaluate("SP.fleet.markers[%d].getTooltip().getContent()" % vid)
    legend = page.inner_text("#legenda")
    assert "Truk (posisi terkini)" in legend and "Kelurahan terlayani hari ini" in legend
    did = armada_facts["devices"][0]
    page.evaluate("window.__sp_marker_before = SP.fleet.markers[%d]" % vid)
    with connect(settings) as conn:
        conn.execute("UPDATE fleet.device SET last_lat = -6.17, last_lon = 106.64, last_fix_time = now(), "
                     "last_received = now() WHERE id = %s", (did,))
        conn.commit()
    page.wait_for_function("Math.abs(SP.fleet.markers[%d].getLatLng().lat + 6.17) < 1e-9" % vid, timeout=15_000)
    # the same marker object moved: the page was not reloaded
    assert page.evaluate("window.__sp_marker_before === SP.fleet.markers[%d]" % vid)
    assert page.evaluate("SP.fleet.refreshes") >= 1
    visit.assert_clean()


def test_dasbor_opd(open_page, laporan_facts, db):
    from tests.maps_seed import OPD

    page, visit = open_page("/peta/dasbor", "dasbor", ready="document.readyState === 'complete'")
    frame = page.frame_locator("#peta-terbuka")
    page.wait_for_function("document.getElementById('peta-terbuka').contentWindow.SP.ready === true")
    visit.assert_clean()
    expected_open = db.execute(
        "SELECT count(*) AS n FROM laporan JOIN laporan_status_kode k ON k.kode = status WHERE k.open311 = 'open' "
        "AND requested_at >= "
        "(current_date - 29)::timestamp AT TIME ZONE 'Asia/Jakarta'").fetchone()["n"]
    assert page.evaluate("document.getElementById('peta-terbuka').contentWindow.SP.stats.terbuka") == expected_open
    assert frame.locator("path.sp-terbuka").count() >= 1
    assert page.locator("#opd-kecamatan a").count() >= 1  # who is late, where: cells link to the laporan map
    per_opd = page.locator("table").nth(1)  # the per-OPD table, after the OPD x kecamatan one
    table = per_opd.inner_text()
    assert "Median waktu selesai" in table and "Persentil ke-90" in table
    # each seeded OPD's row counts what the database holds for it in the dashboard's 30 days
    for i, kode in enumerate(OPD):
        want = db.execute(
            "SELECT count(*) AS diterima, count(*) FILTER (WHERE k.open311 = 'open') AS terbuka FROM laporan "
            "JOIN laporan_status_kode k ON k.kode = status WHERE opd_kode = %s "
            "AND requested_at >= (current_date - 29)::timestamp AT TIME ZONE 'Asia/Jakarta'",
            (kode,)).fetchone()
        cells = per_opd.locator("tbody tr", has_text=f"Dinas Uji {'ABC'[i]}").first.locator("td").all_inner_texts()
        assert [cells[1], cells[2]] == [f"{want['diterima']:,}".replace(",", "."),
                                        f"{want['terbuka']:,}".replace(",", ".")], (kode, cells, want)
        assert want["diterima"] > 0
    assert page.locator(".plot svg").count() == 3
    assert page.locator(".plot svg text", has_text="Laporan per OPD").count() >= 1
    assert "Laporan terbuka" in frame.locator("#legenda").inner_text()


def test_exported_laporan_map_aggregates_beyond_the_inline_limit(open_page, laporan_facts, settings, db, tmp_path):
    """Standalone export with maps_inline_reports=5: grid cells stand in for points and add up to every laporan."""
    import asyncio
    import threading

    from maps.export import export_all

    # playwright's sync API owns this thread's event loop: export in a thread of its own
    job = threading.Thread(target=lambda: asyncio.run(export_all(
        settings.model_copy(update={"maps_inline_reports": 5}), tmp_path, only_layers=["poi"])))
    job.start()
    job.join()
    assert (tmp_path / "laporan.html").is_file()
    total = db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
    page, visit = open_page((tmp_path / "laporan.html").as_uri(), "laporan_export_grid")
    visit.assert_clean()
    assert page.evaluate("SP.stats.points") == 0
    cells = page.locator(".sp-cell").all_inner_texts()
    assert len(cells) == page.evaluate("SP.stats.grid") >= 1
    assert sum(int(c.replace(".", "")) for c in cells) == total
    assert "diringkas per sel" in page.inner_text(".sp-title")
    assert page.locator("#filter fieldset[disabled]").count() == 1


def test_layer_map_from_vector_tiles(open_page):
    page, visit = open_page("/peta/layer/kelurahan?sumber=tiles", "layer_kelurahan_tiles",
                            ready="SP.ready === true && SP.stats.tilesLoaded === true")
    visit.assert_clean()
    assert page.locator(".leaflet-tile path").count() >= 104  # every kelurahan drawn from the MVT tiles
    assert "vector tiles" in page.inner_text("#legenda")
    box = page.locator("#map, .folium-map").first.bounding_box()
    page.evaluate("SP.stats.tilesLoaded = false")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".leaflet-popup-content .sp-popup")
    assert "kode" in page.inner_text(".leaflet-popup-content")
    visit.assert_clean()


def test_served_laporan_map_fetches_points_by_view_past_the_inline_limit(browser_context, settings, laporan_facts,
                                                                         shots):
    """With maps_inline_reports=5 the page carries grid cells only; zoomed in, it fetches the laporan in view."""
    from tests.conftest import LiveServer
    from tests.maps_seed import LAYANAN

    with LiveServer(settings.model_copy(update={"maps_inline_reports": 5})) as server:
        page = browser_context.new_page()
        visit = Visit()
        page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: visit.failed.append(f"{r.url} {r.status}") if r.status >= 400 else None)
        # generous: a fresh server builds its services and the folium page on a loaded 2-core machine
        with page.expect_response(lambda r: "/peta/laporan/titik.json" in r.url, timeout=120_000) as fetched:
            page.goto(f"{server.url}/peta/laporan?layanan={LAYANAN}", timeout=120_000)
            page.wait_for_function("SP.ready === true", timeout=120_000)
            assert page.evaluate("SP.stats.points") == 0 and page.evaluate("SP.stats.grid") >= 1
            # zoom onto one grid cell: few enough laporan there to show them one by one
            page.evaluate("""() => { const c = document.querySelector('.sp-cell');
                const m = SP.map; let best = null;
                m.eachLayer(l => {
                    if (l.getIcon && l.getElement && l.getElement() && l.getElement().contains(c)) best = l; });
                m.setView(best.getLatLng(), 17, {animate: false}); }""")
        assert fetched.value.status == 200
        page.wait_for_function("SP.stats.points > 0")
        assert page.locator(".sp-cell").count() == 0  # the grid gives way to the points
        at_rest(page)
        page.screenshot(path=str(shots / "laporan_served_zoomed.png"))
        page.close()
        visit.assert_clean()


def test_laporan_filter_form_narrows_the_map(open_page, laporan_facts, db):
    from tests.maps_seed import LAYANAN, OPD

    expected = db.execute("SELECT count(*) AS n FROM laporan WHERE layanan_kode = %s AND opd_kode = %s "
                          "AND status = 'closed'", (LAYANAN, OPD[1])).fetchone()["n"]
    page, visit = open_page(f"/peta/laporan?layanan={LAYANAN}", "laporan_filter")
    page.select_option("#f-opd", OPD[1])
    page.select_option("#f-status", "closed")
    with page.expect_navigation():
        page.click("#filter button[type=submit]")
    page.wait_for_function("SP.ready === true")
    visit.assert_clean()
    assert f"opd={OPD[1]}" in page.url and "status=closed" in page.url
    assert page.evaluate("SP.stats.points") == expected > 0
    subtitle = page.inner_text(".sp-title p")
    assert "OPD Dinas Uji B" in subtitle and "status Selesai" in subtitle
