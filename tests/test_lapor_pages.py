"""The citizen pages (issue 17) over real HTTP: /lapor's form POST through the one intake (CSRF, the web-form
rate limit, refusals in Bahasa that keep every field, hostile input), /lacak/{id} with its public history and
the reporter's rating with kode_lacak."""

from __future__ import annotations

import io
import os
import re
import uuid

import httpx
import pytest
from PIL import Image

from geo_api.apikeys import key_hash, new_key

KARAWACI = {"lat": "-6.18994", "long": "106.62483"}


@pytest.fixture(autouse=True)
def _catalogue(katalog):
    """The categories, OPDs and rules of the bundled catalogue."""


def _csrf(client: httpx.Client) -> str:
    r = client.get("/lapor")
    assert r.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 90, 40)).save(buf, "JPEG")
    return buf.getvalue()


def _fields(**extra) -> dict[str, str]:
    return {"service_code": "jalan_rusak", **KARAWACI, "description": "Lubang besar di depan SD negeri",
            "first_name": "Warga Uji", "phone": "081200001111", **extra}


def _officer(db) -> str:
    key = new_key()
    db.execute("INSERT INTO api_key (name, role, key_hash, semua_opd) VALUES (%s, 'opd_officer', %s, true)",
               (f"lapor-desk-{uuid.uuid4().hex[:8]}", key_hash(key)))
    db.commit()
    return key


def test_form_submits_through_the_intake(client, db):
    token = _csrf(client)
    r = client.post("/lapor", data={**_fields(), "csrf": token}, files=[("media", ("lubang.jpg", _jpeg(),
                                                                                 "image/jpeg"))])
    assert r.status_code == 200, r.text
    rid = int(re.search(r"bernomor <strong>(\d+)</strong>", r.text).group(1))
    kode = re.search(r'id="kode-lacak">([^<]+)<', r.text).group(1)
    row = db.execute("SELECT l.opd_kode, o.nama, l.kode_lacak_hash, l.pelapor_nama_depan, l.media_url "
                     "FROM laporan l JOIN opd o ON o.kode = l.opd_kode WHERE l.id = %s", (rid,)).fetchone()
    assert row["nama"] in r.text and row["pelapor_nama_depan"] == "Warga Uji"
    assert row["media_url"] and "/media/" in row["media_url"]
    assert len(kode) >= 8 and row["kode_lacak_hash"] and kode not in str(row["kode_lacak_hash"])
    audit = db.execute("SELECT oleh FROM audit_log WHERE objek = %s AND aksi = 'laporan.create'",
                       (f"laporan:{rid}",)).fetchone()
    assert audit["oleh"] == "web:lapor"
    assert f'href="/lacak/{rid}"' in r.text and "hari kerja" in r.text
    # the Open311 read of the same laporan: same intake, same routing
    [pub] = client.get(f"/open311/v2/requests/{rid}.json").json()
    assert pub["agency_responsible"] == row["nama"] and pub["media_url"]


def test_missing_or_wrong_csrf_keeps_fields(client, db):
    before = db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
    _csrf(client)
    for token in (None, "salah-" + "x" * 30):
        data = _fields(description="Uraian yang harus tetap ada 123")
        if token:
            data["csrf"] = token
        r = client.post("/lapor", data=data)
        assert r.status_code == 403
        assert "kedaluwarsa" in r.text and "Uraian yang harus tetap ada 123" in r.text
        assert 'value="Warga Uji"' in r.text and 'value="081200001111"' in r.text
    assert db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"] == before


def test_refusals_are_plain_bahasa_and_keep_fields(client):
    token = _csrf(client)
    r = client.post("/lapor", data={**_fields(lat="", long=""), "csrf": token})
    assert r.status_code == 400 and "Lokasi belum ditentukan" in r.text and "Lubang besar" in r.text
    r = client.post("/lapor", data={**_fields(email="bukan-email"), "csrf": token})
    assert r.status_code == 422 and "email tidak valid" in r.text and 'value="bukan-email"' in r.text
    r = client.post("/lapor", data={**_fields(service_code="tidak_ada"), "csrf": token})
    assert r.status_code == 422 and "Pilih kategori" in r.text
    r = client.post("/lapor", data={**_fields(), "csrf": token},
                    files=[("media", ("x.jpg", b"\xff\xd8 bukan foto", "image/jpeg"))])
    assert r.status_code == 400 and "Foto tidak dapat dipakai" in r.text and "Lubang besar" in r.text
    for page in (r.text,):
        assert "Traceback" not in page and "is required" not in page


def test_hostile_input_is_escaped_and_bounded(client, db):
    token = _csrf(client)
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    r = client.post("/lapor", data={**_fields(description=evil, first_name=evil, lat="1e39"), "csrf": token})
    assert r.status_code == 422 and "Lokasi belum ditentukan" in r.text
    assert "<script>alert(1)" not in r.text and "onerror=alert(2)>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    r = client.post("/lapor", data={**_fields(description="x" * 100_000), "csrf": token})
    assert r.status_code == 413 and "Traceback" not in r.text
    r = client.post("/lapor", data={**_fields(**{"attribute[tidak_ada]": "1"}), "csrf": token})
    assert r.status_code == 422
    assert client.get("/lapor/dekat", params={"layanan": "x' OR 1=1 --", "lat": "-6.19", "lon": "106.62"}).json() \
        == []
    bad = client.get("/lapor/dekat", params={"layanan": "jalan_rusak", "lat": "abc", "lon": "1"})
    assert bad.status_code == 422 and bad.json()["parameter"] == "lat"
    assert client.get("/lacak/1%20OR%201=1").status_code == 404
    assert client.get("/lacak/99999999999999").status_code == 404


def test_web_form_rate_limit(settings, tmp_path):
    """Its own bucket (lapor_burst per address): the next submission is a 429 page that keeps the fields."""
    from tests.conftest import LiveServer

    tight = settings.model_copy(update={"lapor_burst": 2, "lapor_per_jam": 1.0})
    with LiveServer(tight) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        token = _csrf(c)
        codes = [c.post("/lapor", data={**_fields(description=f"batas {i}"), "csrf": token}) for i in range(3)]
    assert [r.status_code for r in codes[:2]] == [200, 200]
    assert codes[2].status_code == 429 and "Terlalu banyak" in codes[2].text and "batas 2" in codes[2].text


def test_lacak_history_and_rating(client, db):
    token = _csrf(client)
    r = client.post("/lapor", data={**_fields(), "csrf": token})
    rid = int(re.search(r"bernomor <strong>(\d+)</strong>", r.text).group(1))
    kode = re.search(r'id="kode-lacak">([^<]+)<', r.text).group(1)
    page = client.get(f"/lacak/{rid}")
    assert page.status_code == 200 and "Diterima" in page.text and "Warga Uji" not in page.text
    assert "081200001111" not in page.text and "/nilai" not in page.text  # no rating before closure
    desk = _officer(db)
    for st, note in (("investigating", "Sedang diperiksa petugas"), ("fixed", "Lubang sudah ditambal")):
        got = client.post(f"/routing/laporan/{rid}/status", headers={"X-API-Key": desk},
                          json={"status": st, "catatan": note})
        assert got.status_code == 200, got.text
    page = client.get(f"/lacak/{rid}")
    assert "Lubang sudah ditambal" in page.text and f'action="/lacak/{rid}/nilai"' in page.text
    wrong = client.post(f"/lacak/{rid}/nilai", data={"csrf": token, "kode_lacak": "salah", "nilai": "4",
                                                      "komentar": "komentar tetap"})
    assert wrong.status_code == 403 and "Kode lacak tidak cocok" in wrong.text and "komentar tetap" in wrong.text
    ok = client.post(f"/lacak/{rid}/nilai", data={"csrf": token, "kode_lacak": kode, "nilai": "1",
                                                   "buka_kembali": "ya", "komentar": "Masih berlubang"},
                     follow_redirects=False)
    assert ok.status_code == 303
    after = client.get(f"/lacak/{rid}")
    assert "sudah tercatat" not in after.text  # the plain page, then the redirect target says so
    assert "dibuka kembali" in after.text.lower()
    st = db.execute("SELECT status FROM laporan WHERE id = %s", (rid,)).fetchone()["status"]
    assert st == "reopened"
    again = client.post(f"/lacak/{rid}/nilai", data={"kode_lacak": kode, "nilai": "3"})
    assert again.status_code == 403  # no CSRF token: refused before anything


@pytest.mark.parametrize("page", ["lapor", "lacak", "lacak-tidak-ada"])
def test_pages_are_bahasa_and_local(client, page):
    path, status = {"lapor": ("/lapor", 200), "lacak-tidak-ada": ("/lacak/99999999999999", 404)}.get(page, ("", 200))
    if page == "lacak":  # a laporan of this test's own
        r = client.post("/lapor", data={**_fields(), "csrf": _csrf(client)})
        path = "/lacak/" + re.search(r"bernomor <strong>(\d+)</strong>", r.text).group(1)
    r = client.get(path)
    assert r.status_code == status
    assert 'lang="id"' in r.text
    assert "http://" not in r.text.replace("http://127.0.0.1", "") and "https://" not in r.text


def test_lacak_comment_with_photo(client, db):
    token = _csrf(client)
    r = client.post("/lapor", data={**_fields(), "csrf": token})
    rid = int(re.search(r"bernomor <strong>(\d+)</strong>", r.text).group(1))
    kode = re.search(r'id="kode-lacak">([^<]+)<', r.text).group(1)
    wrong = client.post(f"/lacak/{rid}/komentar", data={"csrf": token, "kode_lacak": "salah",
                                                         "tanggapan": "Tanggapan yang harus tetap ada"})
    assert wrong.status_code == 403 and "Kode lacak tidak cocok" in wrong.text
    assert "Tanggapan yang harus tetap ada" in wrong.text
    empty = client.post(f"/lacak/{rid}/komentar", data={"csrf": token, "kode_lacak": kode, "tanggapan": " "},
                        files=[("media", ("", b"", "application/octet-stream"))])
    assert empty.status_code == 422 and "Tulis tanggapan atau lampirkan foto" in empty.text
    n = db.execute("SELECT count(*) AS n FROM laporan_status WHERE laporan_id = %s", (rid,)).fetchone()["n"]
    ok = client.post(f"/lacak/{rid}/komentar", data={"csrf": token, "kode_lacak": kode,
                                                      "tanggapan": "Lubangnya makin lebar"},
                     files=[("media", ("lagi.jpg", _jpeg(), "image/jpeg"))], follow_redirects=False)
    assert ok.status_code == 303, ok.text
    rows = db.execute("SELECT id, status, jenis, catatan, media FROM laporan_status WHERE laporan_id = %s "
                      "ORDER BY id", (rid,)).fetchall()
    assert len(rows) == n + 1 and rows[-1]["status"] == rows[0]["status"]
    assert [r["jenis"] for r in rows] == ["diterima", "komentar"]  # its own kind, not a status change
    assert "Lubangnya makin lebar" in rows[-1]["catatan"] and len(rows[-1]["media"]) == 1
    page = client.get(f"/lacak/{rid}?ok=tanggapan")
    assert "Lubangnya makin lebar" in page.text and rows[-1]["media"][0]["thumb_url"] in page.text
    assert client.get(rows[-1]["media"][0]["url"]).status_code == 200
    [pub] = client.get(f"/open311/v2/requests/{rid}.json").json()
    comment = [u for u in pub["riwayat"] if u["update_id"] == str(rows[-1]["id"])]
    assert [(u["jenis"], u["status"], u["description"]) for u in comment] == [
        ("komentar", "open", "Tanggapan pelapor: Lubangnya makin lebar")]
    assert comment[0]["media_url"].endswith(rows[-1]["media"][0]["url"])
    when = db.execute("SELECT pada FROM laporan_status WHERE id = %s", (rows[-1]["id"],)).fetchone()["pada"]
    feed = client.get("/open311/v2/servicerequestupdates.json",
                      params={"start_date": when.isoformat(), "end_date": when.isoformat()}).json()
    assert [(u["jenis"], u["status"], u["status_open311"]) for u in feed if u["update_id"] == str(rows[-1]["id"])] \
        == [("komentar", "open", "open")]
    audit = db.execute("SELECT oleh FROM audit_log WHERE objek = %s AND aksi = 'laporan.komentar'",
                       (f"laporan:{rid}",)).fetchall()
    assert [a["oleh"] for a in audit] == ["web:lacak"]


def test_the_citizen_pages_take_photos_up_to_the_photo_limit(db, settings, tmp_path):
    """A phone photo larger than the ordinary 1 MiB body limit (the pages promise up to 10 MB) reaches the form
    routes through the edge's photo limit, on /lapor and on /lacak/{id}/komentar alike."""
    from tests.conftest import LiveServer

    big = io.BytesIO()
    Image.frombytes("RGB", (1400, 1000), os.urandom(1400 * 1000 * 3)).save(big, "JPEG", quality=95)
    assert settings.http_body_max_bytes < len(big.getvalue()) < settings.media_max_bytes
    own = settings.model_copy(update={"media_dir": tmp_path / "media", "lapor_burst": 1000})  # its own bucket
    with LiveServer(own) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        _post_big_photos(client, db, big.getvalue())


def _post_big_photos(client: httpx.Client, db, photo: bytes) -> None:
    token = _csrf(client)
    r = client.post("/lapor", data={**_fields(), "csrf": token},
                    files=[("media", ("besar.jpg", photo, "image/jpeg"))])
    assert r.status_code == 200 and "bernomor" in r.text, r.text[-1500:]
    rid = int(re.search(r"bernomor <strong>(\d+)</strong>", r.text).group(1))
    kode = re.search(r'id="kode-lacak">([^<]+)<', r.text).group(1)
    ok = client.post(f"/lacak/{rid}/komentar", data={"csrf": token, "kode_lacak": kode, "tanggapan": "Foto besar"},
                     files=[("media", ("besar.jpg", photo, "image/jpeg"))], follow_redirects=False)
    assert ok.status_code == 303, ok.text[-1500:]
    media = db.execute("SELECT jenis, media FROM laporan_status WHERE laporan_id = %s ORDER BY id", (rid,)).fetchall()
    assert [(m["jenis"], len(m["media"])) for m in media] == [("diterima", 1), ("komentar", 1)]
