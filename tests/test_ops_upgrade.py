"""Upgrades on live data: a database with laporan and their history, fleet positions in daily partitions,
published layers with versions and keys is taken down to the previous release's schema (the down path of every
migration since), then migrated to head with `satupeta db migrate`: nothing is lost and the endpoints answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from geo_api import apikeys, schema
from geo_api.audit import Actor
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from ingestion.bundled import load_bundled
from tests._scale import register_device
from tests.conftest import LiveServer, _with_db, run_async

ROOT = Path(__file__).resolve().parent.parent
BASE = "/open311/v2"
PREVIOUS_RELEASE = "0008_shared_state"  # the schema the last release shipped (README 'Operating it')
TESTER = Actor("cli", "test-ops-upgrade")
pytestmark = pytest.mark.slow

# What must survive: row counts and a digest of the rows' content, per table
TABLES = {
    "laporan": "SELECT count(*), md5(string_agg(id || '|' || deskripsi || '|' || opd_kode || '|' || "
               "coalesce(kelurahan_kode, '') || '|' || ST_AsText(geom) || '|' || status, ',' ORDER BY id)) "
               "FROM laporan",
    "laporan_status": "SELECT count(*), md5(string_agg(laporan_id || '|' || status || '|' || catatan || '|' || "
                      "pada, ',' ORDER BY id)) FROM laporan_status",
    "fleet.position": "SELECT count(*), md5(string_agg(device_id || '|' || fix_time || '|' || lat || '|' || lon, ','"
                      " ORDER BY device_id, fix_time)) FROM fleet.position",
    "partitions": "SELECT count(*), md5(string_agg(c.relname, ',' ORDER BY c.relname)) FROM pg_inherits i "
                  "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'fleet.position'::regclass",
    "layer_version": "SELECT count(*), md5(string_agg(layer_id || '|' || version, ',' ORDER BY layer_id, version))"
                     " FROM layer_version",
    "api_key": "SELECT count(*), md5(string_agg(key_hash || '|' || role, ',' ORDER BY id)) FROM api_key",
    "kelurahan": "SELECT count(*), md5(string_agg(kode, ',' ORDER BY kode)) FROM kelurahan",
}


def _cli(dsn: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": dsn, "SATUPETA_FLEET_OSMAND_LISTEN": "false"}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)


def _downgrade(settings: Settings, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "sql:migrations")
    cfg.attributes["sqlalchemy_url"] = settings.sqlalchemy_url()
    command.downgrade(cfg, revision)


def _snapshot(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        return {name: tuple(conn.execute(q).fetchone()) for name, q in TABLES.items()}


@pytest.fixture(scope="module")
def live_db(base_settings: Settings):
    """A database of this module's own with the bundled data, the catalogue and live platform writes."""
    name = f"satupeta_upgrade_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_settings.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = _with_db(base_settings.dsn, name)
    settings = base_settings.model_copy(update={"database_url": dsn})
    try:
        migrate(settings)
        with connect(settings) as conn:
            load_bundled(conn, settings.data_dir)
        from geo_api import catalogue

        run_async(settings, lambda conn: catalogue.setup(conn, settings))
        yield settings
    finally:
        with psycopg.connect(base_settings.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _write_live_data(settings: Settings, tmp: Path) -> dict:
    with connect(settings) as db:
        device = register_device(db, "upg")
        citizen, _ = apikeys.create(db, TESTER, f"upg-cit-{uuid.uuid4().hex[:6]}", "citizen_app")
        tracker, _ = apikeys.create(db, TESTER, f"upg-trk-{uuid.uuid4().hex[:6]}", "tracker", device=device)
    ids = []
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for k, code in enumerate(("sampah_menumpuk", "jalan_rusak", "banjir")):
            r = client.post(f"{BASE}/requests.json", data={
                "api_key": citizen, "service_code": code, "lat": f"{-6.18994 - k * 0.01:.5f}", "long": "106.62483",
                "description": f"Contoh (sintetis) laporan sebelum pemutakhiran {k}"})
            assert r.status_code == 200, r.text  # Open311 GeoReport v2 answers a created request with 200
            ids.append(r.json()[0]["service_request_id"])
        now = int(time.time())
        for days_ago in (2, 1, 0):  # three daily partitions
            for m in range(3):
                t = now - days_ago * 86400 - 3600 + m * 60
                r = client.get("/osmand", params={"id": device, "lat": f"{-6.17 + m * 0.001:.4f}", "lon": "106.63",
                                                  "timestamp": t, "key": tracker})
                assert r.status_code == 200, r.text
    layer = f"upg_{uuid.uuid4().hex[:6]}"
    for version in (1, 2):
        path = tmp / f"{layer}_{version}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"nama": f"Titik SINTETIS {version}.{k}"},
             "geometry": {"type": "Point", "coordinates": [106.63 + k * 0.001, -6.18]}} for k in range(version + 1)]}))
        proc = _cli(settings.dsn, "layers", "publish", str(path), "--id", layer, "--title", "Uji pemutakhiran "
                    "(SINTETIS)", "--opd", "DPUPR")
        assert proc.returncode == 0, proc.stderr
    return {"laporan": ids, "layer": layer, "device": device}


def test_down_to_the_previous_release_and_up_again_keeps_everything(live_db, tmp_path):
    written = _write_live_data(live_db, tmp_path)
    before = _snapshot(live_db.dsn)
    assert before["laporan"][0] >= 3 and before["partitions"][0] >= 3 and before["layer_version"][0] >= 3

    _downgrade(live_db, PREVIOUS_RELEASE)  # every migration since the last release has a down path
    check = _cli(live_db.dsn, "db", "migrate", "--check")
    assert check.returncode == 1 and f"database at {PREVIOUS_RELEASE}" in check.stdout
    assert _snapshot(live_db.dsn) == before  # the down path kept the data the previous release knows

    up = _cli(live_db.dsn, "db", "migrate")
    assert up.returncode == 0, up.stderr
    assert _cli(live_db.dsn, "db", "migrate", "--check").returncode == 0
    assert _snapshot(live_db.dsn) == before

    with LiveServer(live_db) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/health/ready").status_code == 200
        assert client.get("/health").json()["status"] == "ok"
        for rid in written["laporan"]:
            got = client.get(f"{BASE}/requests/{rid}.json")
            assert got.status_code == 200 and got.json()[0]["service_request_id"] == rid
        items = client.get(f"/ogc/collections/{written['layer']}/items").json()
        assert items["numberMatched"] == 3  # version 2 is the one served
        assert client.get("/ogc/collections/kelurahan/items", params={"limit": 1}).status_code == 200
        assert client.get(f"{BASE}/services.json").status_code == 200
        assert client.get("/geocode/reverse", params={"lat": "-6.18994", "lon": "106.62483"}).status_code == 200
        assert client.get("/metrics").status_code == 200
    assert schema.classify(PREVIOUS_RELEASE).state == schema.BEHIND
