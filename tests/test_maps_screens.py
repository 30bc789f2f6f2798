"""Every page as its users see it, at 1400x900 (desk) and 390x844 (phone), in headless Debian Chromium: lang="id",
no failed request, no console error, no horizontal overflow on the phone, no control covered by another; the same
OPD in the same colour on the laporan map and the dashboard; /docs renders its operations; a bad period answers
a page in Bahasa. Screenshots go to <basetemp>/peta_layar: look at them."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.maps_seed import at_rest

SIZES = {"desk": (1400, 900), "phone": (390, 844)}
MAPS = ("/peta/layer/poi", "/peta/laporan", "/peta/armada")
PAGES = ("/peta", *MAPS, "/peta/dasbor", "/docs", "/peta/katalog", "/lapor", "/ogc/collections")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make system installs it)")

# Controls that must each be the topmost element at their own centre (nothing laid over them).
CONTROLS = ("#sp-cari-q", ".leaflet-control-zoom-in", ".leaflet-control-zoom-out", ".leaflet-control-layers-toggle",
            ".sp-title h1", "#sp-tombol-filter", "#sp-tombol-legenda", "#periode button", "#status-armada")
_COVERED = """(sels) => {
  const out = [];
  for (const sel of sels) {
    for (const el of document.querySelectorAll(sel)) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) continue;
      const top = document.elementFromPoint(x, y);
      if (top && top !== el && !el.contains(top) && !top.contains(el)) {
        out.push(sel + ' under ' + (top.id || top.className || top.tagName));
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pw_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with pw_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def seeded(settings):
    from geo_api.db import connect
    from tests.maps_seed import seed_armada, seed_laporan

    with connect(settings) as conn:
        seed_laporan(conn)
        seed_armada(conn, settings.fleet_timezone)


@pytest.fixture(scope="module")
def layar(tmp_path_factory):
    return tmp_path_factory.mktemp("peta_layar", numbered=False)


def _visit(browser, live_server, layar, path: str, size: str, *, shot: str | None = None):
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, is_mobile=size == "phone",
                              has_touch=size == "phone", device_scale_factor=1)
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append("console: " + m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        (live_server.url, "data:", "about:")) else (problems.append("outside: " + route.request.url), route.abort()))
    page.goto(live_server.url + path, wait_until="load")
    if path == "/docs":  # Swagger UI draws after load: its operations, or its error box
        page.wait_for_selector(".opblock, .errors-wrapper", timeout=30_000)
    at_rest(page)
    name = shot or (path.strip("/").replace("/", "_") or "index") + "_" + size
    page.screenshot(path=str(layar / f"{name}.png"))
    return ctx, page, problems


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("path", PAGES)
def test_page_at_desk_and_phone(browser, live_server, seeded, layar, path, size):
    ctx, page, problems = _visit(browser, live_server, layar, path, size)
    try:
        assert page.evaluate("document.documentElement.lang") == "id"
        if path == "/docs":
            page.wait_for_selector(".opblock", timeout=30_000)
            assert page.locator(".opblock").count() > 20
            assert page.locator(".errors-wrapper, .loading-container .errors").count() == 0
        assert not problems, problems
        assert "user-scalable=no" not in (page.get_attribute("meta[name=viewport]", "content") or "")
        if size == "phone":
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        assert page.evaluate(_COVERED, list(CONTROLS)) == []
        if path == "/peta/laporan" and size == "phone":  # filter and legend folded behind buttons
            assert not page.is_visible("#filter") and not page.is_visible("#legenda")
            page.click("#sp-tombol-filter")
            assert page.is_visible("#filter") and page.evaluate(_COVERED, list(CONTROLS)) == []
            page.screenshot(path=str(layar / "peta_laporan_phone_filter.png"))
            page.click("#sp-tombol-legenda")
            assert page.is_visible("#legenda") and not page.is_visible("#filter")
            page.screenshot(path=str(layar / "peta_laporan_phone_legenda.png"))
        if path in MAPS:
            assert page.is_visible("#sp-cari-q")  # the place search box on every served map
            assert page.locator(".sp-label-kel").count() == 0  # kelurahan names only from zoom 14
            assert page.get_attribute(".leaflet-control-zoom-in", "title") == "Perbesar"
            assert page.get_attribute(".leaflet-control-zoom-out", "title") == "Perkecil"
    finally:
        ctx.close()


def test_same_opd_same_colour_on_the_laporan_map_and_the_dashboard(browser, live_server, seeded, layar, db):
    ctx, page, problems = _visit(browser, live_server, layar, "/peta/dasbor", "desk", shot="dasbor_warna")
    try:
        dasbor = dict(page.evaluate("""() => [...document.querySelectorAll('.sp-opd-warna')]
            .map(e => [e.dataset.opd, getComputedStyle(e).backgroundColor])"""))
    finally:
        ctx.close()
    ctx, page, problems = _visit(browser, live_server, layar, "/peta/laporan", "desk", shot="laporan_warna")
    try:
        cfg = page.evaluate("SP.cfg ? SP.cfg.colours : null")
    finally:
        ctx.close()
    assert dasbor and cfg
    def rgb(hexc: str) -> str:
        h = hexc.lstrip("#")
        return "rgb({}, {}, {})".format(*(int(h[i:i + 2], 16) for i in (0, 2, 4)))
    shared = set(dasbor) & set(cfg)
    assert shared
    for kode in shared:
        assert dasbor[kode] == rgb(cfg[kode]), kode


@pytest.mark.parametrize("path", ["/peta/laporan", "/peta/dasbor"])
def test_bad_period_answers_a_page_in_bahasa(browser, live_server, layar, path):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    try:
        r = page.goto(f"{live_server.url}{path}?dari=2026-02-01&sampai=2026-01-01")
        assert r.status == 422 and r.headers["content-type"].startswith("text/html")
        assert "Tanggal akhir sebelum tanggal awal" in page.inner_text("body")
        assert page.input_value("input[name=sampai]") == "2026-01-01"
        assert page.evaluate("document.documentElement.lang") == "id"
        page.screenshot(path=str(layar / f"galat_{path.rsplit('/', 1)[1]}.png"))
    finally:
        ctx.close()


def test_site_names_carry_their_kind_once():
    from maps.armada import site_name

    assert site_name({"jenis": "TPS", "nama": "TPS Pasir Jaya"}) == "TPS Pasir Jaya"
    assert site_name({"jenis": "TPS", "nama": "Pasir Jaya"}) == "TPS Pasir Jaya"
    assert site_name({"jenis": "TPA", "nama": "tpa Rawa Kucing"}) == "tpa Rawa Kucing"


def test_armada_truck_opens_a_popup_and_the_clock_says_wib(browser, live_server, seeded, layar):
    ctx, page, problems = _visit(browser, live_server, layar, "/peta/armada", "desk", shot="armada_popup")
    try:
        page.wait_for_function("SP.stats.trucks > 0", timeout=30_000)
        assert page.inner_text("#status-armada").endswith("WIB")
        page.evaluate("(() => { const m = Object.values(SP.fleet.markers)[0]; m.openPopup(); })()")
        text = page.inner_text(".leaflet-popup-content")
        assert "Posisi terakhir" in text and "WIB" in text and "Kunjungan TPS/TPA hari ini" in text
        at_rest(page)  # the popup fades in
        page.screenshot(path=str(layar / "armada_popup.png"))
        assert not problems, problems
    finally:
        ctx.close()


def test_place_search_box_finds_a_kelurahan_and_kelurahan_names_show_from_zoom_14(browser, live_server, seeded, layar):
    ctx, page, problems = _visit(browser, live_server, layar, "/peta/laporan", "desk", shot="cari")
    try:
        page.fill("#sp-cari-q", "Cibodas Sari")
        page.press("#sp-cari-q", "Enter")
        page.wait_for_selector(".sp-cari-hasil li", timeout=60_000)  # the first search may build the index
        assert page.locator(".sp-cari-hasil li button").count(), page.inner_text(".sp-cari-hasil")
        assert "Cibodas" in page.inner_text(".sp-cari-hasil")
        page.click(".sp-cari-hasil li button")
        page.wait_for_function("SP.map.getZoom() >= 15", timeout=10_000)
        # synchronise on what is asserted: the kelurahan labels drawn at that zoom (not a fixed 500 ms)
        page.wait_for_selector(".sp-label-kel", state="attached", timeout=10_000)
        assert page.locator(".sp-label-kel").count() > 0
        page.screenshot(path=str(layar / "cari_hasil.png"))
        assert not problems, problems
    finally:
        ctx.close()


def _distinct_colours(png: bytes) -> int:
    from io import BytesIO

    from PIL import Image

    im = Image.open(BytesIO(png)).convert("RGB").resize((140, 90))
    return len(set(im.tobytes()[i:i + 3] for i in range(0, 140 * 90 * 3, 3)))


@pytest.mark.parametrize("size", list(SIZES))
def test_maps_are_drawn_with_their_legend_and_overlays_off_until_chosen(browser, live_server, seeded, katalog, layar,
                                                                        size):
    ctx, page, problems = _visit(browser, live_server, layar, "/peta/laporan", size, shot=f"lapisan_{size}")
    try:
        assert _distinct_colours(page.screenshot()) > 40  # a map, not a blank page
        if size == "phone":
            page.click("#sp-tombol-legenda")
        assert page.is_visible("#legenda") and "OPD tujuan" in page.inner_text("#legenda")
        names = page.evaluate("[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
                              ".map(l => [l.textContent.trim(), l.querySelector('input').checked])")
        overlays = dict(names)
        assert overlays.get("Titik penting (OSM)") is False
        jalan = [n for n in overlays if n.startswith("Jalan:")]
        assert jalan and overlays[jalan[0]] is False and "SINTETIS" in jalan[0]  # the published street layer
        assert page.locator("path.sp-poi").count() == 0
        page.evaluate("""[...document.querySelectorAll('.leaflet-control-layers-overlays label')]
            .filter(l => l.textContent.includes('Titik penting')).forEach(l => l.querySelector('input').click())""")
        assert page.locator("path.sp-poi").count() > 0
        assert not problems, problems
    finally:
        ctx.close()


def test_shapes_stay_out_of_the_tab_order_and_clusters_answer_the_keyboard(browser, live_server, seeded, layar):
    ctx, page, problems = _visit(browser, live_server, layar, "/peta/laporan", "desk", shot="keyboard")
    try:
        untabbable = page.evaluate("[...document.querySelectorAll('.leaflet-container path')]"
                                   ".filter(p => p.getAttribute('tabindex') !== '-1').length")
        assert untabbable == 0
        seen = []
        for _ in range(40):
            page.keyboard.press("Tab")
            seen.append(page.evaluate("document.activeElement.tagName + ' ' + "
                                      "(document.activeElement.getAttribute('aria-label') || '')"))
        assert not any(s.startswith("path") for s in seen), seen
        clusters = [s for s in seen if " laporan, " in s]
        assert clusters, seen  # clusters are named "12 laporan, DLH" on their focusable element
        page.evaluate("document.querySelector('.sp-cluster').focus()")
        zoom = page.evaluate("SP.map.getZoom()")
        page.keyboard.press("Enter")
        page.wait_for_function(f"SP.map.getZoom() > {zoom}", timeout=10_000)
        assert not problems, problems
    finally:
        ctx.close()


def test_phone_popup_is_a_bottom_sheet_and_a_silent_truck_shows_its_age(browser, live_server, seeded, layar):
    ctx, page, problems = _visit(browser, live_server, layar, "/peta/armada", "phone", shot="armada_lembar")
    try:
        page.wait_for_function("SP.stats.trucks > 0", timeout=30_000)
        page.evaluate("Object.values(SP.fleet.markers)[0].openPopup()")
        page.wait_for_selector("#sp-lembar:not([hidden])", timeout=5_000)
        box = page.locator("#sp-lembar").bounding_box()
        assert box["y"] + box["height"] >= 844 - 1 and box["width"] >= 389  # along the bottom, full width
        assert "Posisi terakhir" in page.inner_text("#sp-lembar")
        assert not page.locator(".leaflet-popup").is_visible()
        page.screenshot(path=str(layar / "armada_lembar_buka.png"))
        page.click(".sp-lembar-tutup")
        assert not page.is_visible("#sp-lembar")
        page.evaluate("""SP.fleet.apply({features: [{type: 'Feature', id: 99999, geometry: {type: 'Point',
            coordinates: [106.63, -6.18]}, properties: {vehicle_id: 99999, plat_nomor: 'B 1 LAMA', speed_kmh: 0,
            age_s: 1500, fix_time: new Date(Date.now() - 1500e3).toISOString()}}]})""")
        assert "sp-truck-lama" in page.get_attribute(".leaflet-marker-icon[title='B 1 LAMA']", "class")
        # on show without a hover (other modules' trucks in the shared database may be silent too: take its own)
        label = page.locator(".sp-truck-label-lama", has_text="B 1 LAMA").inner_text()
        assert "B 1 LAMA" in label and "25 menit lalu" in label
        assert not problems, problems
    finally:
        ctx.close()
