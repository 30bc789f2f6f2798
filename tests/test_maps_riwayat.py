"""The demo's SYNTHETIC history (maps.riwayat): laporan spread over past weeks through the real intake, handled in
hours to days, some re-dispatched, some late, all through the laksa domain functions with the demo's clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def test_history_spreads_over_weeks_with_hours_to_days_re_dispatches_and_late_ones(settings, katalog, db, client):
    from maps.riwayat import isi_riwayat
    from tests.conftest import run_async

    start = db.execute("SELECT coalesce(max(id), 0) AS m FROM laporan").fetchone()["m"]
    now = datetime.now(timezone.utc)
    counts = run_async(settings, lambda conn: isi_riwayat(conn, settings, 40, hari=21, seed=5, now=now))
    assert counts["diterima"] == 40 - counts["ditolak"] and counts["diterima"] >= 35
    rows = db.execute(
        """SELECT l.id, l.requested_at, l.expected_at, l.deskripsi, l.jumlah_disposisi, k.open311,
                  (SELECT min(s.pada) FROM laporan_status s WHERE s.laporan_id = l.id AND s.status = 'closed') AS tutup
           FROM laporan l JOIN laporan_status_kode k ON k.kode = l.status WHERE l.id > %s""", (start,)).fetchall()
    assert len(rows) == counts["diterima"]
    assert all(r["deskripsi"].startswith("Contoh (sintetis)") for r in rows)  # the pages say DATA SINTETIS
    spread = max(r["requested_at"] for r in rows) - min(r["requested_at"] for r in rows)
    assert spread > timedelta(days=7) and all(r["requested_at"] <= now for r in rows)
    closed = [r["tutup"] - r["requested_at"] for r in rows if r["tutup"]]
    assert closed and min(closed) > timedelta(hours=1) and max(closed) > timedelta(days=1)  # hours to days
    assert any(r["jumlah_disposisi"] for r in rows)  # re-dispatched through siklus.disposisi
    hist = db.execute("SELECT count(*) AS n FROM laporan_disposisi WHERE laporan_id > %s", (start,)).fetchone()["n"]
    assert hist == counts["didisposisi"] > 0
    assert any(r["open311"] == "open" and r["expected_at"] and r["expected_at"] < now for r in rows)  # late ones
    page = client.get("/peta/dasbor").text
    assert "DATA SINTETIS" in page
