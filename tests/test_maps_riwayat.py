"""The demo's SYNTHETIC history (maps.riwayat): laporan spread over past weeks through the real intake, handled in
hours to days, some re-dispatched, some late, all through the laksa domain functions with the demo's clock."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql


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


@pytest.fixture()
def demo_db(base_settings):
    """A database of its own holding only what a demo holds (the bundled data and catalogue, no other laporan)."""
    from geo_api.db import connect, migrate
    from ingestion.bundled import load_bundled
    from tests.conftest import _with_db

    name = f"satupeta_demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_settings.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    own = base_settings.model_copy(update={"database_url": _with_db(base_settings.dsn, name)})
    try:
        migrate(own)
        with connect(own) as conn:
            load_bundled(conn, own.data_dir)
        yield own
    finally:
        with psycopg.connect(base_settings.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_old_flat_demo_gets_its_history_and_other_data_is_never_touched(demo_db, settings, katalog, db):
    from geo_api import catalogue
    from geo_api.db import connect
    from maps.riwayat import ganti_riwayat_datar, isi_riwayat, riwayat_datar
    from tests.conftest import run_async

    # the session's database holds laporan that are not the demo's: nothing happens there
    before = db.execute("SELECT count(*) AS n, max(id) AS m FROM laporan").fetchone()
    db.rollback()
    assert run_async(settings, riwayat_datar) == 0
    assert run_async(settings, lambda c: ganti_riwayat_datar(c, settings)) is None
    assert db.execute("SELECT count(*) AS n, max(id) AS m FROM laporan").fetchone() == before
    db.rollback()

    # an old demo: every laporan SINTETIS, all received within hours (as the Open311 top-up did)
    run_async(demo_db, lambda c: catalogue.setup(c, demo_db))
    made = run_async(demo_db, lambda c: isi_riwayat(c, demo_db, 30, hari=0.5, seed=3))
    assert run_async(demo_db, riwayat_datar) == made["diterima"] > 20
    now = datetime.now(timezone.utc)
    done = run_async(demo_db, lambda c: ganti_riwayat_datar(c, demo_db, hari=21, now=now))
    assert done["dihapus"] == made["diterima"] and done["diterima"] >= done["dihapus"] - 3
    with connect(demo_db) as conn:
        rows = conn.execute("SELECT l.requested_at, l.expected_at, l.deskripsi, k.open311 FROM laporan l "
                            "JOIN laporan_status_kode k ON k.kode = l.status").fetchall()
        audit = conn.execute("SELECT oleh, sebelum FROM audit_log WHERE aksi = 'laporan.ganti_sintetis'").fetchall()
    assert len(rows) == done["diterima"] and all(r["deskripsi"].startswith("Contoh (sintetis)") for r in rows)
    spread = max(r["requested_at"] for r in rows) - min(r["requested_at"] for r in rows)
    assert spread > timedelta(days=7)  # weeks, not hours
    assert any(r["open311"] == "open" and r["expected_at"] and r["expected_at"] < now for r in rows)  # late ones
    assert [(a["oleh"], a["sebelum"]["laporan"]) for a in audit] == [("cli:demo-sintetis:riwayat", done["dihapus"])]
    assert run_async(demo_db, riwayat_datar) == 0  # done once: a second run leaves the history alone
