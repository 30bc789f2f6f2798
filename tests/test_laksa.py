"""The LAKSA lifecycle over real HTTP (issue 16): intake with kode_lacak, statuses along their transitions with
public and internal notes, re-dispatch (disposisi) between OPDs, the updates feed, the rating, the periodic
job (escalation, auto-close: idempotent and audited), the dashboard; nothing personal or internal in public."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from geo_api.apikeys import key_hash, new_key
from tests.conftest import run_async

BASE = "/open311/v2"
POINT = {"lat": "-6.18994", "long": "106.62483"}  # Kelurahan Karawaci
SECRET_NOTE = "CATATAN-INTERNAL-7Q"
SECRET_REASON = "ALASAN-DISPOSISI-9Z"
PERSONAL = {"email": "rahasia.warga@example.id", "first_name": "Sutini", "last_name": "Wiryaningsih",
            "phone": "081299887766", "device_id": "dev-xyz-1", "account_id": "acc-pribadi-42"}
LEAKS = (SECRET_NOTE, SECRET_REASON, *PERSONAL.values(), "Komentar-pribadi-55")


def _key(db, role: str, *, opd: str | None = None, semua: bool = False) -> str:
    key, name = new_key(), f"laksa-{role}-{uuid.uuid4().hex[:8]}"
    db.execute("INSERT INTO api_key (name, role, key_hash, opd_kode, semua_opd) VALUES (%s, %s, %s, %s, %s)",
               (name, role, key_hash(key), opd, semua))
    db.commit()
    return key


@pytest.fixture(scope="module")
def keys(settings, katalog):
    """Citizen app, admin, LAKSA desk (every OPD) and officers of DLH and DPUPR."""
    from geo_api.db import connect

    with connect(settings) as db:
        return {"citizen": _key(db, "citizen_app"), "admin": _key(db, "gis_admin"),
                "desk": _key(db, "opd_officer", semua=True), "dlh": _key(db, "opd_officer", opd="dlh"),
                "dpupr": _key(db, "opd_officer", opd="dpupr")}


def _post(client, keys, **extra):
    data = {"api_key": keys["citizen"], "service_code": "sampah_menumpuk", **POINT,
            "description": "Sampah menumpuk di pinggir jalan", **PERSONAL, **extra}
    r = client.post(f"{BASE}/requests.json", data=data)
    assert r.status_code == 200, r.text
    [created] = r.json()
    return int(created["service_request_id"]), created["kode_lacak"]


def _status(client, key, lid, status, catatan="", internal=""):
    return client.post(f"/routing/laporan/{lid}/status", headers={"X-API-Key": key},
                       json={"status": status, "catatan": catatan, "catatan_internal": internal})


def _no_leak(text: str) -> None:
    for secret in LEAKS:
        assert secret not in text, f"{secret!r} in a public read"


def _dasbor(client, opd: str) -> dict:
    """The OPD's dashboard line (zeros when it has nothing yet)."""
    row = next((r for r in client.get("/routing/dasbor").json() if r["opd_kode"] == opd), None)
    return row or {"laporan": 0, "disposisi_dipenuhi": 0, "disposisi_tepat": 0, "penilaian": 0, "nilai_rata": None,
                   "ditutup": 0, "terlambat": 0}


def _window(client) -> dict:
    now = datetime.now(timezone.utc)
    return {"start_date": (now - timedelta(hours=1)).isoformat(), "end_date": (now + timedelta(hours=1)).isoformat()}


def test_full_life_of_a_laporan(client, keys, db):
    lid, kode = _post(client, keys)
    row = db.execute("SELECT opd_kode, kode_lacak_hash, rule_id, expected_at, disposisi_due, requested_at "
                     "FROM laporan WHERE id = %s", (lid,)).fetchone()
    assert row["opd_kode"] == "dlh" and row["rule_id"] is not None
    assert row["kode_lacak_hash"] == hashlib.sha256(kode.encode()).hexdigest()  # stored hashed, never as given
    assert db.execute("SELECT count(*) AS n FROM laporan l WHERE l.id = %s AND position(%s in l::text) > 0",
                      (lid, kode)).fetchone()["n"] == 0
    assert row["disposisi_due"] > row["requested_at"] and row["expected_at"] >= row["disposisi_due"]  # 3 hk both

    # the OPD verifies it (public + internal note); an illegal move is 409 naming the allowed next states
    r = _status(client, keys["dlh"], lid, "investigating", "Petugas DLH meninjau lokasi", SECRET_NOTE)
    assert r.status_code == 200, r.text
    assert r.json()["disposisi_at"] is not None and r.json()["riwayat_status"][-1]["catatan_internal"] == SECRET_NOTE
    assert r.json()["terlambat"] == []
    bad = _status(client, keys["dlh"], lid, "reopened")
    assert bad.status_code == 409, bad.text
    assert "action_scheduled" in bad.json()["detail"] and set(bad.json()["allowed"]) >= {"fixed", "not_responsible"}
    unknown = _status(client, keys["dlh"], lid, "selesai_sekali")
    assert unknown.status_code == 422 and unknown.json()["parameter"] == "status"

    # DPUPR may not act on DLH's laporan; DLH re-dispatches it to DPUPR
    assert client.post(f"/routing/laporan/{lid}/disposisi", headers={"X-API-Key": keys["dpupr"]},
                       json={"opd": "dlh", "alasan": "x"}).status_code == 403
    before = client.get(f"/routing/laporan/{lid}", headers={"X-API-Key": keys["dlh"]}).json()
    overrides = lambda: {r["id"]: r["jumlah_disposisi"] for r in client.get(  # noqa: E731
        "/routing/rules", headers={"X-API-Key": keys["admin"]}).json()}[before["rule_id"]]
    overridden = overrides()
    moved = client.post(f"/routing/laporan/{lid}/disposisi", headers={"X-API-Key": keys["dlh"]},
                        json={"opd": "dpupr", "alasan": SECRET_REASON})
    assert moved.status_code == 200, moved.text
    m = moved.json()
    assert m["opd_kode"] == "dpupr" and m["status"] == "open" and m["jumlah_disposisi"] == 1
    assert m["disposisi_at"] is None and m["tahap_mulai"] > before["tahap_mulai"]  # the clock restarted
    assert m["disposisi"][0]["alasan"] == SECRET_REASON
    assert m["disposisi"][0]["keputusan_lama"]["rule_id"] == before["rule_id"]
    assert m["disposisi"][0]["keputusan_lama"]["opd_kode"] == "dlh"
    assert _status(client, keys["dlh"], lid, "in_progress").status_code == 403  # the old OPD is out
    assert overrides() == overridden + 1

    # DPUPR fixes it; Open311 shows closed, with the detailed status as an extension
    assert _status(client, keys["dpupr"], lid, "fixed", "Sampah sudah diangkut").status_code == 200
    [pub] = client.get(f"{BASE}/requests/{lid}.json").json()
    assert pub["status"] == "closed" and pub["status_laksa"] == "fixed"
    assert pub["status_notes"] == "Sampah sudah diangkut"
    jenis = [u["jenis"] for u in pub["riwayat"]]
    assert jenis == ["diterima", "status", "disposisi", "status"]
    assert [u["status"] for u in pub["riwayat"]] == ["open", "investigating", "open", "fixed"]
    assert pub["riwayat"][1]["description"] == "Petugas DLH meninjau lokasi"

    # the reporter rates it with the tracking code
    rate = f"{BASE}/requests/{lid}/rating.json"
    assert client.post(rate, data={"api_key": keys["citizen"], "kode_lacak": "salah", "nilai": "4"}).status_code == 403
    assert client.post(f"{BASE}/requests/999999999/rating.json",
                       data={"api_key": keys["citizen"], "kode_lacak": kode, "nilai": "4"}).status_code == 404
    five = client.post(rate, data={"api_key": keys["citizen"], "kode_lacak": kode, "nilai": "5"})
    assert five.status_code == 400 and "nilai" in five.json()[0]["description"], five.text
    ok = client.post(rate, data={"api_key": keys["citizen"], "kode_lacak": kode, "nilai": "3",
                                 "komentar": "Komentar-pribadi-55"})
    assert ok.status_code == 200, ok.text
    assert ok.json()[0]["status"] == "closed"  # the reporter answered: the fixed laporan is closed
    again = client.post(rate, data={"api_key": keys["citizen"], "kode_lacak": kode, "nilai": "4"})
    assert again.status_code == 409, again.text

    # every public read: no personal data, no internal note, no disposisi reason, no rating comment
    for path in (f"{BASE}/requests/{lid}.json", f"{BASE}/requests/{lid}.xml", f"{BASE}/requests.json"):
        _no_leak(client.get(path).text)
    feed = client.get(f"{BASE}/servicerequestupdates.json", params=_window(client))
    assert feed.status_code == 200, feed.text
    _no_leak(feed.text)
    ours = [u for u in feed.json() if u["service_request_id"] == str(lid)]
    assert [u["status"] for u in ours] == ["open", "investigating", "open", "fixed", "closed"]
    assert set(ours[0]) >= {"update_id", "service_request_id", "status", "updated_datetime", "description",
                            "media_url"}
    xml = client.get(f"{BASE}/servicerequestupdates.xml", params=_window(client))
    _no_leak(xml.text)
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests_updates"
    assert {u.findtext("update_id") for u in root.iter("request_update")} >= {u["update_id"] for u in ours}
    one = ET.fromstring(client.get(f"{BASE}/requests/{lid}.xml").content)
    assert [u.findtext("jenis") for u in one.iter("update")] == ["diterima", "status", "disposisi", "status",
                                                               "penilaian"]
    assert one.find("request/status").text == "closed" and one.find("request/status_laksa").text == "closed"
    audit = [r["aksi"] for r in db.execute("SELECT aksi FROM audit_log WHERE objek = %s ORDER BY id",
                                           (f"laporan:{lid}",)).fetchall()]
    assert audit == ["laporan.create", "laporan.status", "laporan.disposisi", "laporan.status", "laporan.penilaian"]


def test_rating_rules(client, keys):
    lid, kode = _post(client, keys)
    rate = f"{BASE}/requests/{lid}/rating.json"
    early = client.post(rate, data={"api_key": keys["citizen"], "kode_lacak": kode, "nilai": "2"})
    assert early.status_code == 409, early.text  # not closed or fixed yet
    assert client.post(rate, data={"kode_lacak": kode, "nilai": "2"}).status_code == 403  # no api_key
    assert _status(client, keys["desk"], lid, "fixed", "Sudah ditangani").status_code == 200
    was = _dasbor(client, "dlh")
    n, rata = was["penilaian"], was["nilai_rata"] or 0.0
    low = client.post(rate, data={"api_key": keys["citizen"], "kode_lacak": kode, "nilai": "1", "buka_kembali": "true"})
    assert low.status_code == 200 and low.json()[0]["status"] == "reopened"
    [pub] = client.get(f"{BASE}/requests/{lid}.json").json()
    assert pub["status"] == "open" and pub["status_laksa"] == "reopened"
    dash = client.get("/routing/dasbor").json()
    dlh = next(r for r in dash if r["opd_kode"] == "dlh")
    assert dlh["penilaian"] == n + 1  # this one rating of 1, on top of what the session rated before
    assert dlh["ikm"] == pytest.approx((rata * n + 1) / (n + 1) * 25, abs=0.05 + 1e-9)
    export = client.get("/routing/dasbor.csv")
    assert export.status_code == 200 and export.text.splitlines()[0].startswith("opd_kode,opd_nama,laporan")
    [line] = [r for r in csv.DictReader(io.StringIO(export.text)) if r["opd_kode"] == "dlh"]
    assert line == {k: "" if v is None else str(v) for k, v in dlh.items() if k in line}  # the same figures


def test_feed_paging_and_bad_dates(client, keys):
    for _ in range(3):
        _post(client, keys)
    w = _window(client)
    first = client.get(f"{BASE}/servicerequestupdates.json", params={**w, "page_size": 2}).json()
    second = client.get(f"{BASE}/servicerequestupdates.json", params={**w, "page_size": 2, "page": 2}).json()
    assert len(first) == 2 and len(second) == 2
    assert not {u["update_id"] for u in first} & {u["update_id"] for u in second}
    assert (first[-1]["updated_datetime"], int(first[-1]["update_id"])) <= (second[0]["updated_datetime"],
                                                                              int(second[0]["update_id"]))
    for params, name in (({"start_date": "kemarin"}, "start_date"), ({"start_date": "9999-12-31T00:00:00Z"},
                                                                     "start_date"),
                         ({**w, "page_size": "0"}, "page_size"), ({**w, "page": "x"}, "page"),
                         ({"start_date": "2020-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "start_date")):
        r = client.get(f"{BASE}/servicerequestupdates.json", params=params)
        assert 400 <= r.status_code < 500 and name in r.text, (params, r.text)


def test_clock_job_escalates_and_closes_once_and_audits(client, keys, settings, db):
    from geo_api.audit import Actor
    from geo_api.laksa import siklus
    from geo_api.laksa.kalender import dari_katalog

    late, _ = _post(client, keys)
    fixed, _ = _post(client, keys)
    assert _status(client, keys["dlh"], fixed, "fixed", "Sudah diangkut").status_code == 200
    due = db.execute("SELECT tutup_due FROM laporan WHERE id = %s", (fixed,)).fetchone()["tutup_due"]
    later = due + timedelta(days=1)
    actor = Actor("cli", f"uji-{uuid.uuid4().hex[:8]}")
    job = lambda conn: siklus.jalankan_jam(conn, dari_katalog(), actor, now=later)  # noqa: E731
    dash0 = {"dlh": _dasbor(client, "dlh")}
    first = run_async(settings, job)
    done = {int(a["objek"].split(":")[1]): a for a in db.execute(
        "SELECT objek, sebelum, sesudah FROM audit_log WHERE oleh = %s AND aksi = 'laporan.jam'",
        (actor.label,)).fetchall()}
    assert done[fixed]["sesudah"]["tindakan"] == ["tutup_otomatis"]  # answered 10 hari kerja ago: closed
    assert done[late]["sesudah"]["tindakan"] == ["eskalasi_disposisi"]  # never taken up: escalated, not closed
    tally = {k: sum(k in a["sesudah"]["tindakan"] for a in done.values()) for k in first}
    assert first == tally  # every laporan the run counted has its audit row, and no other
    assert run_async(settings, job) == {"eskalasi_disposisi": 0, "eskalasi_tindak_lanjut": 0, "tutup_otomatis": 0}
    [pub] = client.get(f"{BASE}/requests/{fixed}.json").json()
    assert pub["status"] == "closed" and pub["status_laksa"] == "closed"
    assert pub["riwayat"][-1]["jenis"] == "tutup_otomatis"
    db.execute("UPDATE laporan SET disposisi_due = now() - interval '1 minute' WHERE id = %s", (late,))
    db.commit()  # the stage's deadline as if it had passed: the OPD's view flags it
    assert client.get(f"/routing/laporan/{late}", headers={"X-API-Key": keys["dlh"]}).json()["terlambat"] == [
        "disposisi"]
    [lp] = client.get(f"{BASE}/requests/{late}.json").json()
    assert [u["jenis"] for u in lp["riwayat"]] == ["diterima", "eskalasi"]
    assert "meja LAKSA" in lp["riwayat"][-1]["description"]
    acts = db.execute("SELECT aksi, oleh FROM audit_log WHERE objek = ANY(%s) AND aksi = 'laporan.jam'",
                      ([f"laporan:{late}", f"laporan:{fixed}"],)).fetchall()
    assert len(acts) == 2 and all(a["oleh"] == actor.label for a in acts)
    dash = {r["opd_kode"]: r for r in client.get("/routing/dasbor").json()}
    closed_dlh = sum(1 for a in done.values() if a["sebelum"]["tutup_at"] is None and a["sesudah"]["tutup_at"]
                     and a["sesudah"]["tutup_due"] and a["sesudah"]["opd_kode"] == "dlh")
    assert dash["dlh"]["ditutup"] == dash0["dlh"]["ditutup"] + closed_dlh and closed_dlh >= 1
    assert dash["dlh"]["terlambat"] == dash0["dlh"]["terlambat"] + 1  # `late`, whose deadline was moved back


def test_cli_tutup_otomatis_is_idempotent(settings, katalog):
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    args = [sys.executable, "-m", "geo_api.cli", "laksa", "tutup-otomatis", "--sekarang", "2199-01-01T00:00:00Z"]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and '"tutup_otomatis": 0' in second.stdout, second.stdout
    bad = subprocess.run([*args[:-1], "besok"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "sekarang" in (bad.stdout + bad.stderr)


def test_statuses_are_data(client):
    st = {s["kode"]: s for s in client.get("/routing/status").json()}
    assert set(st) == {"open", "investigating", "action_scheduled", "in_progress", "fixed", "duplicate",
                       "not_responsible", "no_further_action", "closed", "reopened"}
    assert st["fixed"]["open311"] == "closed" and st["reopened"]["open311"] == "open"
    assert st["closed"]["berikutnya"] == ["reopened"]


def test_handoff_to_a_neighbouring_kabkota(client, keys, db):
    lid, _ = _post(client, keys)
    luar = db.execute("SELECT kode FROM opd WHERE luar_kota AND aktif ORDER BY kode LIMIT 1").fetchone()["kode"]
    r = client.post(f"/routing/laporan/{lid}/disposisi", headers={"X-API-Key": keys["desk"]},
                    json={"opd": luar, "alasan": "Lokasi di luar batas kota"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "not_responsible" and r.json()["keputusan"] == "serah_terima"
    assert r.json()["tutup_due"] is not None
    again = client.post(f"/routing/laporan/{lid}/disposisi", headers={"X-API-Key": keys["desk"]},
                        json={"opd": "dlh", "alasan": "x"})
    assert again.status_code == 409  # closed in Open311: reopen first
    assert client.post(f"/routing/laporan/{lid}/disposisi", headers={"X-API-Key": keys["desk"]},
                       json={"opd": "tidak-ada", "alasan": "x"}).json().get("parameter") == "opd"


def test_dashboard_page_shows_the_laksa_figures(client, keys):
    lid, kode = _post(client, keys)
    assert _status(client, keys["dlh"], lid, "fixed", "Selesai").status_code == 200
    assert client.post(f"{BASE}/requests/{lid}/rating.json",
                       data={"api_key": keys["citizen"], "kode_lacak": kode, "nilai": "4"}).status_code == 200
    page = client.get("/peta/dasbor")
    assert page.status_code == 200
    html = page.text
    assert "id='laksa-sla'" in html and "Tenggat SP4N-LAPOR! dan kepuasan warga" in html
    assert "/routing/dasbor.csv" in html and "Dinas Lingkungan Hidup" in html.split("id='laksa-sla'", 1)[1]
    _no_leak(html)


def test_server_timer_round_is_audited_as_the_system(client, keys, settings, db):
    from geo_api.db import open_pool
    from geo_api.laksa import timer

    lid, _ = _post(client, keys)
    due = db.execute("SELECT disposisi_due FROM laporan WHERE id = %s", (lid,)).fetchone()["disposisi_due"]

    async def go(_conn):
        pool = open_pool(settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1}))
        await pool.open(wait=True, timeout=15)
        try:
            return await timer.one_round(pool, now=due + timedelta(hours=1))
        finally:
            await pool.close()
    last_audit = db.execute("SELECT coalesce(max(id), 0) AS n FROM audit_log").fetchone()["n"]
    counts = run_async(settings, go)
    acts = {a["objek"]: a["sesudah"]["tindakan"] for a in db.execute(
        "SELECT objek, sesudah FROM audit_log WHERE id > %s AND aksi = 'laporan.jam' AND oleh = 'sistem:laksa-timer'",
        (last_audit,)).fetchall()}
    assert acts[f"laporan:{lid}"] == ["eskalasi_disposisi"]
    assert counts["eskalasi_disposisi"] == sum("eskalasi_disposisi" in t for t in acts.values())
    row = db.execute("SELECT oleh FROM audit_log WHERE objek = %s AND aksi = 'laporan.jam'",
                     (f"laporan:{lid}",)).fetchone()
    assert row["oleh"] == "sistem:laksa-timer"


def test_bad_input_names_the_parameter_and_writes_nothing(client, keys, db):
    lid, kode = _post(client, keys)
    rate = f"{BASE}/requests/{lid}/rating.json"
    for data, name in (({"nilai": "x"}, "nilai"), ({"nilai": "9"}, "nilai"), ({"nilai": "1e3"}, "nilai"),
                       ({"nilai": "3", "komentar": "k" * 2001}, "komentar"),
                       ({"nilai": "3", "buka_kembali": "true"}, "buka_kembali")):
        r = client.post(rate, data={"api_key": keys["citizen"], "kode_lacak": kode, **data})
        assert r.status_code == 400 and name in r.json()[0]["description"], (data, r.text)
    big = client.post(rate, content=b"a=" + b"x" * 20000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 400 and "larger than" in big.json()[0]["description"], big.text
    h = {"X-API-Key": keys["dlh"]}
    for body, name in (({"opd": "dpupr", "alasan": ""}, "alasan"), ({"opd": "", "alasan": "x"}, "opd"),
                       ({"opd": "dlh", "alasan": "x"}, "opd"), ({"opd": "dpupr", "alasan": "x" * 3000}, "alasan")):
        r = client.post(f"/routing/laporan/{lid}/disposisi", headers=h, json=body)
        assert 400 <= r.status_code < 500 and name in r.text, (body, r.text)
    assert _status(client, keys["dlh"], lid, "fixed", "x" * 2001).status_code == 422
    n = db.execute("SELECT count(*) AS n FROM laporan_status WHERE laporan_id = %s", (lid,)).fetchone()["n"]
    assert n == 1  # only the intake: nothing half-written
    assert db.execute("SELECT count(*) AS n FROM laporan_penilaian WHERE laporan_id = %s", (lid,)).fetchone()["n"] == 0


def test_follow_up_overdue_is_escalated_to_the_head_of_the_opd(client, keys, settings, db):
    from geo_api.audit import Actor
    from geo_api.laksa import siklus
    from geo_api.laksa.kalender import dari_katalog

    dash0 = _dasbor(client, "dlh")
    lid, _ = _post(client, keys)
    assert _status(client, keys["dlh"], lid, "investigating", "Dicek").status_code == 200
    dash1 = _dasbor(client, "dlh")
    assert (dash1["laporan"], dash1["disposisi_dipenuhi"], dash1["disposisi_tepat"]) == (
        dash0["laporan"] + 1, dash0["disposisi_dipenuhi"] + 1, dash0["disposisi_tepat"] + 1)  # taken up in time
    due = db.execute("SELECT tindak_lanjut_due FROM laporan WHERE id = %s", (lid,)).fetchone()["tindak_lanjut_due"]
    actor = Actor("cli", f"uji-{uuid.uuid4().hex[:8]}")
    job = lambda conn: siklus.jalankan_jam(conn, dari_katalog(), actor, now=due + timedelta(hours=1))  # noqa: E731
    counts = run_async(settings, job)
    acts = {a["objek"]: a["sesudah"]["tindakan"] for a in db.execute(
        "SELECT objek, sesudah FROM audit_log WHERE oleh = %s AND aksi = 'laporan.jam'", (actor.label,)).fetchall()}
    assert acts[f"laporan:{lid}"] == ["eskalasi_tindak_lanjut"]
    assert counts["eskalasi_tindak_lanjut"] == sum("eskalasi_tindak_lanjut" in t for t in acts.values())
    [pub] = client.get(f"{BASE}/requests/{lid}.json").json()
    last = pub["riwayat"][-1]
    assert last["jenis"] == "eskalasi" and last["status"] == "investigating"
    assert "kepala Dinas Lingkungan Hidup" in last["description"] and "tindak lanjut" in last["description"]
    feed = client.get(f"{BASE}/servicerequestupdates.json", params=_window(client)).json()
    assert [u["jenis"] for u in feed if u["update_id"] == last["update_id"]] == ["eskalasi"]


def test_a_stale_close_deadline_is_cleared_and_audited(client, keys, settings, db):
    """A laporan that is no longer answered-and-waiting (here in progress) but still has a passed tutup_due: the
    job closes that clock without closing the laporan, and audits it like every other change it makes."""
    from geo_api.audit import Actor
    from geo_api.laksa import siklus
    from geo_api.laksa.kalender import dari_katalog

    lid, _ = _post(client, keys)
    assert _status(client, keys["dlh"], lid, "in_progress", "Dikerjakan").status_code == 200
    db.execute("UPDATE laporan SET tutup_due = now() - interval '1 day', tutup_at = NULL WHERE id = %s", (lid,))
    db.commit()
    actor = Actor("cli", f"uji-{uuid.uuid4().hex[:8]}")
    now = datetime.now(timezone.utc)
    counts = run_async(settings, lambda conn: siklus.jalankan_jam(conn, dari_katalog(), actor, now=now))
    row = db.execute("SELECT status, tutup_at FROM laporan WHERE id = %s", (lid,)).fetchone()
    assert row["status"] == "in_progress" and row["tutup_at"] == now
    [audit] = db.execute("SELECT sebelum, sesudah FROM audit_log WHERE oleh = %s AND objek = %s AND aksi = "
                         "'laporan.jam'", (actor.label, f"laporan:{lid}")).fetchall()
    assert audit["sesudah"]["tindakan"] == [] and audit["sebelum"]["tutup_at"] is None
    assert audit["sesudah"]["tutup_at"] is not None and counts["tutup_otomatis"] == sum(
        1 for a in db.execute("SELECT sesudah FROM audit_log WHERE oleh = %s", (actor.label,)).fetchall()
        if "tutup_otomatis" in a["sesudah"]["tindakan"])
    [pub] = client.get(f"{BASE}/requests/{lid}.json").json()
    assert [u["jenis"] for u in pub["riwayat"]] == ["diterima", "status"]  # nothing public happened
