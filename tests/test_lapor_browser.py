"""The citizen pages in headless Chromium (issue 17): drag the pin across a kelurahan border and see the kelurahan
change, choose a category and see the OPD, see a nearby report of the same category, attach a photo (resized in
the page, its EXIF position offered), submit and land on the result page, follow it on /lacak, rate it after the
OPD closed it through the API, and the no-map path. No request may leave 127.0.0.1, no console error; a screenshot
of each step at 390x844 and 1400x900."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from geo_api.apikeys import key_hash, new_key
from tests.conftest import CHROMIUM

SIZES = {"ponsel": (390, 844), "desktop": (1400, 900)}
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make system installs it)")


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lapor_screenshots", numbered=False)


class Watch:
    """Everything that went wrong while the pages ran: outside requests, failed ones, console errors."""

    def __init__(self, page, base: str):
        self.outside, self.failed, self.errors = [], [], []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r: self.failed.append(f"{r.url} HTTP {r.status}") if r.status >= 400 else None)

        def route(rt):
            if rt.request.url.startswith((base, "data:", "blob:", "about:")):
                rt.continue_()
            else:
                self.outside.append(rt.request.url)
                rt.abort()

        page.route("**/*", route)

    def assert_clean(self) -> None:
        assert not self.outside, f"requests left the machine: {self.outside}"
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.errors, f"console errors: {self.errors}"


@pytest.fixture(autouse=True)
def _catalogue(katalog):
    """The categories, OPDs and rules of the bundled catalogue."""


def _neighbours(db) -> tuple[dict, dict]:
    rows = db.execute("SELECT a.nama AS a_nama, a.label_lat AS a_lat, a.label_lon AS a_lon, b.nama AS b_nama, "
                      "b.label_lat AS b_lat, b.label_lon AS b_lon FROM kelurahan a JOIN kelurahan b "
                      "ON ST_Touches(a.geom, b.geom) AND a.kode < b.kode WHERE a.nama = 'Karawaci' "
                      "ORDER BY b.kode LIMIT 1").fetchone()
    return ({"nama": rows["a_nama"], "lat": rows["a_lat"], "lon": rows["a_lon"]},
            {"nama": rows["b_nama"], "lat": rows["b_lat"], "lon": rows["b_lon"]})


def _photo(lat: float, lon: float) -> bytes:
    """A 3000x2000 JPEG whose EXIF carries a GPS position (as a phone camera writes it)."""
    img = Image.new("RGB", (3000, 2000), (140, 110, 60))
    exif = img.getexif()

    def dms(v: float) -> tuple[float, float, float]:
        v = abs(v)
        d, m = int(v), int((v - int(v)) * 60)
        return (float(d), float(m), round((v - d - m / 60) * 3600, 4))

    exif.get_ifd(0x8825).update({1: "S" if lat < 0 else "N", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=80)
    return buf.getvalue()


def _drag_pin_to(page, lat: float, lon: float) -> None:
    """Drag the marker with the mouse so its point lands on (lat, lon)."""
    box = page.locator(".leaflet-marker-icon").bounding_box()
    delta = page.evaluate("""([y, x]) => { const m = SPLapor.map, p = m.latLngToContainerPoint(SPLapor.pin.getLatLng()),
        q = m.latLngToContainerPoint([y, x]); return [q.x - p.x, q.y - p.y]; }""", [lat, lon])
    sx, sy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + delta[0] / 2, sy + delta[1] / 2, steps=8)
    page.mouse.move(sx + delta[0], sy + delta[1], steps=8)
    page.mouse.up()


def _officer(db) -> str:
    key = new_key()
    db.execute("INSERT INTO api_key (name, role, key_hash, semua_opd) VALUES (%s, 'opd_officer', %s, true)",
               (f"lapor-b-{uuid.uuid4().hex[:8]}", key_hash(key)))
    db.commit()
    return key


def _existing(live_server, pt: dict) -> int:
    """A laporan of the same category already filed at the point (through the form, as another citizen)."""
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/lapor").text).group(1)
        r = c.post("/lapor", data={"csrf": token, "service_code": "jalan_rusak", "lat": str(pt["lat"]),
                                   "long": str(pt["lon"]), "description": "Jalan amblas, sudah dilaporkan"})
        return int(re.search(r"bernomor <strong>(\d+)</strong>", r.text).group(1))


@pytest.mark.parametrize("size", list(SIZES))
def test_report_follow_and_rate(browser_context, live_server, shots, db, client, size):
    a, b = _neighbours(db)
    first = _existing(live_server, b)  # linked to an earlier one of this session's, if any: the root is shown
    dup = db.execute("SELECT coalesce(kemungkinan_duplikat_dari, id) AS id FROM laporan WHERE id = %s",
                     (first,)).fetchone()["id"]
    opd = client.post("/routing/explain", json={"category": "jalan_rusak", "lat": b["lat"], "lon": b["lon"]}).json()
    page = browser_context.new_page()
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    watch = Watch(page, live_server.url)
    page.goto(live_server.url + "/lapor")
    page.evaluate("localStorage.clear()")
    page.wait_for_function("window.SPLapor && SPLapor.ready && document.querySelectorAll('#peta path').length >= 104")
    # the two kelurahan and the pin where the page put it, all in view (the drag starts from there)
    page.evaluate("([a, b]) => SPLapor.map.fitBounds([a, b, SPLapor.pin.getLatLng()], {padding: [60, 60], "
                  "animate: false})", [[a["lat"], a["lon"]], [b["lat"], b["lon"]]])
    shot = lambda step: page.screenshot(path=str(shots / f"{size}_{step}.png"), full_page=False)  # noqa: E731
    shot("1_form")
    _drag_pin_to(page, a["lat"], a["lon"])
    page.wait_for_function("n => document.getElementById('lokasi-info').textContent.includes('Kelurahan ' + n + ',')",
                           arg=a["nama"])
    shot("2_pin_a")
    _drag_pin_to(page, b["lat"], b["lon"])
    page.wait_for_function("n => document.getElementById('lokasi-info').textContent.includes('Kelurahan ' + n + ',')",
                           arg=b["nama"])
    assert f"Kelurahan {a['nama']}," not in page.inner_text("#lokasi-info")
    shot("3_pin_b")
    page.select_option("#service_code", "jalan_rusak")
    page.wait_for_function("t => document.getElementById('opd-info').textContent.includes(t)", arg=opd["opd_nama"])
    assert "14 hari kerja" in page.inner_text("#opd-info")
    page.wait_for_selector("#dekat:not([hidden]) a.sp-sama")
    assert page.locator(f'#dekat a[href="/lacak/{dup}"]', has_text="Ini masalah yang sama").count() == 1
    page.locator("#dekat").scroll_into_view_if_needed()
    shot("4_kategori_opd_duplikat")
    assert page.locator("#attr-jalan_rusak-tingkat_kerusakan").is_visible()
    page.select_option("#attr-jalan_rusak-tingkat_kerusakan", "berat")
    page.fill("#description", "Jalan amblas dalam, berbahaya untuk motor")
    page.set_input_files("#media", files=[{"name": "jalan.jpg", "mimeType": "image/jpeg",
                                           "buffer": _photo(b["lat"], b["lon"])}])
    page.wait_for_selector("#pakai-lokasi-foto")
    assert "1 foto siap dikirim" in page.inner_text("#foto-info")
    size_kb = int(re.search(r"\((\d+) KB\)", page.inner_text("#foto-info")).group(1))
    assert size_kb < 600  # resized from 3000x2000 to at most 1600 px before upload
    page.click("#pakai-lokasi-foto")
    assert abs(float(page.input_value("#lat")) - b["lat"]) < 1e-4
    page.fill("#first_name", "Budi Uji")
    shot("5_isian")
    page.click("button[type=submit]")
    page.wait_for_selector("#kode-lacak")
    shot("6_hasil")
    rid = int(re.search(r"bernomor (\d+)", page.inner_text(".sp-berhasil")).group(1))
    kode = page.inner_text("#kode-lacak").strip()
    assert page.inner_text("#hasil-opd") == opd["opd_nama"] and "14 hari kerja" in page.inner_text("#hasil-tenggat")
    row = db.execute("SELECT atribut, kemungkinan_duplikat_dari, media_url FROM laporan WHERE id = %s",
                     (rid,)).fetchone()
    assert row["atribut"] == {"tingkat_kerusakan": "berat"} and row["kemungkinan_duplikat_dari"] == dup
    w = db.execute("SELECT (media->0->>'width')::int AS w FROM laporan_status WHERE laporan_id = %s "
                   "ORDER BY id LIMIT 1", (rid,)).fetchone()
    assert w["w"] <= 1600
    page.click("#ke-lacak")
    page.wait_for_selector("#riwayat li")
    assert "Diterima" in page.inner_text("#riwayat") and page.locator("#riwayat img").count() == 1
    page.wait_for_function("document.querySelector('#riwayat img').naturalWidth > 0")
    shot("7_lacak")
    desk = _officer(db)
    for st, note in (("investigating", "Diperiksa petugas"), ("fixed", "Jalan sudah ditambal")):
        r = client.post(f"/routing/laporan/{rid}/status", headers={"X-API-Key": desk},
                        json={"status": st, "catatan": note})
        assert r.status_code == 200, r.text
    page.reload()
    page.wait_for_selector("form.sp-nilai")
    assert "Jalan sudah ditambal" in page.inner_text("#riwayat")
    page.fill("#kode_lacak", kode)
    page.check("input[name=nilai][value='4']")
    page.locator("form.sp-nilai").scroll_into_view_if_needed()
    shot("8_nilai")
    page.click("form.sp-nilai button[type=submit]")
    page.wait_for_selector(".sp-berhasil")
    assert "sudah tercatat" in page.inner_text(".sp-berhasil")
    shot("9_dinilai")
    watch.assert_clean()
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_no_map_path(browser_context, live_server, shots, db, size):
    page = browser_context.new_page()
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    watch = Watch(page, live_server.url)
    page.goto(live_server.url + "/lapor")
    page.evaluate("localStorage.clear()")
    page.wait_for_function("window.SPLapor && SPLapor.ready")
    page.click("#ke-tanpa-peta")  # the link above the map opens the list and focuses it
    assert page.evaluate("document.activeElement.id") == "kelurahan"
    kode = db.execute("SELECT kode FROM kelurahan WHERE nama = 'Cimone'").fetchone()["kode"]
    page.select_option("#kelurahan", kode)
    assert "Kelurahan Cimone" in page.inner_text("#lokasi-info")
    page.select_option("#service_code", "sampah_menumpuk")
    page.wait_for_function("document.getElementById('opd-info').textContent.includes('Akan ditangani oleh')")
    page.fill("#description", "Sampah menumpuk di pinggir jalan (tanpa peta)")
    page.locator("#kelurahan").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{size}_tanpa_peta.png"))
    page.click("button[type=submit]")
    page.wait_for_selector("#kode-lacak, #galat")
    assert page.locator("#galat").count() == 0, page.inner_text("#galat")
    rid = int(re.search(r"bernomor (\d+)", page.inner_text(".sp-berhasil")).group(1))
    got = db.execute("SELECT k.nama FROM laporan l JOIN kelurahan k ON k.kode = l.kelurahan_kode WHERE l.id = %s",
                     (rid,)).fetchone()
    assert got["nama"] == "Cimone"
    watch.assert_clean()
    page.close()


def test_refused_form_keeps_fields_in_browser(browser_context, live_server, shots):
    """A refusal (no location) is a page in Bahasa with the alert focused and every field as typed."""
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/lapor")
    page.evaluate("localStorage.clear()")
    page.wait_for_function("window.SPLapor && SPLapor.ready")
    page.select_option("#service_code", "sampah_menumpuk")
    page.fill("#description", "Uraian yang tidak boleh hilang")
    page.fill("#phone", "081234567890")
    page.click("button[type=submit]")
    page.wait_for_selector("#galat")
    assert "Lokasi belum ditentukan" in page.inner_text("#galat")
    assert page.evaluate("document.activeElement.id") == "galat"
    assert page.input_value("#description") == "Uraian yang tidak boleh hilang"
    assert page.input_value("#phone") == "081234567890"
    page.screenshot(path=str(shots / "ponsel_galat.png"))
    page.close()


def test_offline_keeps_typing_and_keyboard_moves_pin(browser_context, live_server, shots):
    """The network drops before submit: the form says so and keeps the fields; a new visit gets them back.
    The pin moves with the arrow keys (no mouse)."""
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    watch = Watch(page, live_server.url)
    page.goto(live_server.url + "/lapor")
    page.evaluate("localStorage.clear()")
    page.wait_for_function("window.SPLapor && SPLapor.ready")
    page.focus(".leaflet-marker-icon")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('lokasi-info').textContent.includes('Kelurahan ')")
    lon = float(page.input_value("#long"))
    page.keyboard.press("ArrowRight")
    assert float(page.input_value("#long")) > lon
    page.select_option("#service_code", "banjir")
    page.fill("#description", "Genangan setinggi lutut (uji luring)")
    page.fill("#email", "warga@example.id")
    browser_context.set_offline(True)
    try:
        page.click("button[type=submit]")
        page.wait_for_function("document.getElementById('kirim-info').textContent.includes('Tidak ada sambungan')")
        assert page.url.endswith("/lapor") and page.input_value("#description").endswith("(uji luring)")
        page.screenshot(path=str(shots / "ponsel_luring.png"))
    finally:
        browser_context.set_offline(False)
    again = browser_context.new_page()
    again.set_viewport_size({"width": 390, "height": 844})
    again.goto(live_server.url + "/lapor")
    again.wait_for_function("window.SPLapor && SPLapor.ready")
    assert again.input_value("#description") == "Genangan setinggi lutut (uji luring)"
    assert again.input_value("#email") == "warga@example.id" and again.input_value("#service_code") == "banjir"
    assert again.input_value("#long") == page.input_value("#long")
    again.evaluate("localStorage.clear()")
    watch.assert_clean()
    again.close()
    page.close()


@pytest.mark.parametrize("path", ["/lapor", "/lacak/1"])
def test_200_percent_zoom_has_no_sideways_scroll(browser_context, live_server, shots, path):
    """A 390 px phone at 200 % zoom is a 195 px wide layout: nothing wider than the screen, labels still shown."""
    page = browser_context.new_page()
    page.set_viewport_size({"width": 195, "height": 422})
    page.goto(live_server.url + path)
    page.wait_for_load_state("load")
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(shots / f"zoom200{path.replace('/', '_')}.png"), full_page=True)
    assert wide <= 0, f"{path} is {wide} px wider than a 200 % zoomed phone"
    assert page.locator("label").count() >= (8 if path == "/lapor" else 0)
    page.close()
