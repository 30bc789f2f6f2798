"""Migration 0012_komentar_warga up and down on a scratch database of this test's own: the reporter's comment
becomes its own history kind ('komentar'); comments written before it (found by their laporan.komentar audit row)
are converted, every other event is left as it was; down turns them back into 'status' and the check refuses
'komentar' again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from psycopg.types.json import Jsonb

from geo_api import schema
from geo_api.db import migrate
from geo_api.settings import Settings
from tests.test_ops_schema import scratch_dsn  # noqa: F401 - the scratch database fixture

ROOT = Path(__file__).resolve().parent.parent
REV, PREVIOUS = "0012_komentar_warga", "0011_laksa"


def _alembic(settings: Settings, dsn: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "sql:migrations")
    cfg.attributes["sqlalchemy_url"] = settings.model_copy(
        update={"database_url": dsn, "database_direct_url": None}).sqlalchemy_url()
    return cfg


def _kinds(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT catatan, jenis FROM laporan_status ORDER BY id").fetchall())


def _check(dsn: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": dsn, "SATUPETA_FLEET_OSMAND_LISTEN": "false"}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", "db", "migrate", "--check"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


def test_komentar_kind_migrates_up_and_down(base_settings, scratch_dsn):  # noqa: F811 - the fixture
    scratch = scratch_dsn
    migrate(base_settings, revision=PREVIOUS, dsn=scratch)
    with psycopg.connect(scratch) as conn:
        conn.execute("INSERT INTO opd (kode, nama, jenis) VALUES ('dlh', 'Dinas Lingkungan Hidup SINTETIS', 'dinas')")
        conn.execute("INSERT INTO layanan (kode, nama) VALUES ('sampah', 'Sampah SINTETIS')")
        lid = conn.execute(
            "INSERT INTO laporan (layanan_kode, lat, lon, geom, opd_kode, keputusan, alasan, alasan_teks) "
            "VALUES ('sampah', -6.19, 106.62, ST_SetSRID(ST_MakePoint(106.62, -6.19), 4326), 'dlh', 'triase', "
            "'{}', 'SINTETIS') RETURNING id").fetchone()[0]
        ids = {}
        for catatan, jenis in (("diterima", "diterima"), ("komentar lama", "status"), ("ubah status", "status")):
            ids[catatan] = conn.execute("INSERT INTO laporan_status (laporan_id, status, jenis, catatan) "
                                        "VALUES (%s, 'open', %s, %s) RETURNING id", (lid, jenis, catatan)).fetchone()[0]
        # the audit rows as siklus.komentar_warga and siklus.ubah_status write them
        conn.execute("INSERT INTO audit_log (oleh, aksi, objek, sesudah) VALUES ('web:lacak', 'laporan.komentar', "
                     "%s, %s), ('api_key:x', 'laporan.status', %s, %s)",
                     (f"laporan:{lid}", Jsonb({"riwayat_id": ids["komentar lama"]}), f"laporan:{lid}",
                      Jsonb({"riwayat_id": ids["ubah status"]})))
    assert _check(scratch).returncode == 1

    migrate(base_settings, revision=REV, dsn=scratch)
    assert _kinds(scratch) == {"diterima": "diterima", "komentar lama": "komentar", "ubah status": "status"}

    command.downgrade(_alembic(base_settings, scratch), PREVIOUS)
    assert _kinds(scratch) == {"diterima": "diterima", "komentar lama": "status", "ubah status": "status"}
    with psycopg.connect(scratch) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO laporan_status (laporan_id, status, jenis) VALUES (%s, 'open', 'komentar')", (lid,))

    command.upgrade(_alembic(base_settings, scratch), REV)  # and up again: the audit rows still find it
    assert _kinds(scratch) == {"diterima": "diterima", "komentar lama": "komentar", "ubah status": "status"}
    migrate(base_settings, dsn=scratch)
    proc = _check(scratch)
    assert proc.returncode == 0 and f"schema at head ({schema.head()})" in proc.stdout, proc.stdout + proc.stderr
