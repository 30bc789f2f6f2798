"""`satupeta maps demo`: SYNTHETIC laporan through the real Open311 intake and routing, shown on /peta."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SATUPETA = str(Path(sys.executable).parent / "satupeta")


def test_demo_posts_routed_laporan(settings, live_server, client, db, tmp_path):
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    key = tmp_path / "demo_key"
    setup = subprocess.run([SATUPETA, "routing", "demo", "--key-file", str(key)], env=env, capture_output=True,
                           text=True, timeout=300)
    assert setup.returncode == 0, setup.stderr
    mark = db.execute("SELECT count(*) AS n, coalesce(max(id), 0) AS last FROM laporan").fetchone()
    db.rollback()
    run = subprocess.run([SATUPETA, "maps", "demo", "--laporan", str(mark["n"] + 25), "--trucks", "0",
                          "--url", live_server.url, "--key-file", str(key)], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    # the laporan this run posted (ids after the mark), not whichever 25 are newest
    rows = db.execute("SELECT opd_kode, alasan_teks, status, deskripsi FROM laporan WHERE id > %s",
                      (mark["last"],)).fetchall()
    assert db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"] == mark["n"] + 25  # topped up to N
    assert len(rows) == 25
    assert all(r["deskripsi"].startswith("Contoh (sintetis)") for r in rows), [r["deskripsi"] for r in rows]
    assert all(r["alasan_teks"] for r in rows)
    assert len({r["opd_kode"] for r in rows}) >= 2  # routed to several OPDs by the real rules
    assert any(r["status"] == "closed" for r in rows)
    assert (tmp_path / ".demo_officer_key").is_file()
    page = client.get("/peta/laporan")
    assert page.status_code == 200 and "Laporan warga" in page.text
    assert "DATA SINTETIS" in page.text  # the demo's laporan are on the map, so the banner is


def test_demo_without_server_fails_cleanly(settings, tmp_path):
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    run = subprocess.run([SATUPETA, "maps", "demo", "--trucks", "0", "--url", "http://127.0.0.1:9", "--wait", "2"],
                         env=env, capture_output=True, text=True, timeout=200, cwd=tmp_path)
    assert run.returncode != 0 and "error:" in run.stderr and "Traceback" not in run.stderr
