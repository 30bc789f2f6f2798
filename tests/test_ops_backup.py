"""Backups with pgBackRest on a throwaway embedded cluster of this module's own (never the shared one): the restore
drill to a point in time, restores outside the retained range, backups to a full or read-only disk, pg_dump export.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta, timezone
from pathlib import Path

import httpx
import psycopg
import pytest

from geo_api import apikeys, pgcluster
from geo_api.audit import Actor
from geo_api.settings import Settings
from tests._scale import register_device
from tests.conftest import LiveServer, _free_port, run_async

ROOT = Path(__file__).resolve().parent.parent
BASE = "/open311/v2"
WIB = timezone(timedelta(hours=7))
TESTER = Actor("cli", "test-ops-backup")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("pgbackrest") is None, reason="pgbackrest not installed (make test "
                                 "installs it)")]


class Drill:
    """The module's own cluster: its settings, its environment for the CLI, and a way to run `satupeta`."""

    def __init__(self, base: Path):
        self.base = base
        self.port = _free_port()
        self.env = {"SATUPETA_PG_DATA_DIR": str(base / "pg"), "SATUPETA_PG_PORT": str(self.port),
                    "SATUPETA_FLEET_OSMAND_LISTEN": "false"}
        self.settings = Settings(pg_data_dir=base / "pg", pg_port=self.port)

    def cli(self, *args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        full = {k: v for k, v in {**os.environ, **self.env, **(env or {})}.items() if k != "DATABASE_URL"}
        return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True,
                               cwd=ROOT, env=full, timeout=timeout)

    def ok(self, *args: str, **kw) -> subprocess.CompletedProcess:
        proc = self.cli(*args, **kw)
        assert proc.returncode == 0, f"satupeta {' '.join(args)}: {proc.stderr[-3000:]}"
        return proc

    def sql(self, text: str, params=None):
        with psycopg.connect(self.settings.dsn, autocommit=True) as conn:
            return conn.execute(text, params).fetchall()


@pytest.fixture(scope="module")
def drill() -> Drill:
    # under /var/tmp and world-traversable: PostgreSQL runs as the unprivileged `postgres` user when we are root
    base = Path(tempfile.mkdtemp(prefix="satupeta-drill-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    d = Drill(base)
    try:
        d.ok("db", "start")
        d.ok("db", "migrate")
        d.ok("load")
        from geo_api import catalogue

        run_async(d.settings, lambda conn: catalogue.setup(conn, d.settings))
        yield d
    finally:
        d.cli("db", "stop")
        shutil.rmtree(pgcluster.data_dir(d.settings), ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


def _layer_file(tmp: Path, name: str) -> Path:
    path = tmp / f"{name}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nama": f"Titik SINTETIS {name}"},
         "geometry": {"type": "Point", "coordinates": [106.63, -6.18]}}]}), encoding="utf-8")
    return path


class Writes:
    """One set of platform writes: a laporan over Open311, a GPS fix over OsmAnd, a published layer."""

    def __init__(self, drill: Drill, client: httpx.Client, keys: dict, tmp: Path, tag: str):
        r = client.post(f"{BASE}/requests.json", data={
            "api_key": keys["citizen"], "service_code": "sampah_menumpuk", "lat": "-6.18994", "long": "106.62483",
            "description": f"Contoh (sintetis) laporan {tag}"})
        assert r.status_code == 200, r.text  # Open311 GeoReport v2 answers a created request with 200
        self.laporan = r.json()[0]["service_request_id"]
        fix_time = int(time.time()) - 600 + len(tag)  # distinct per set
        r = client.get("/osmand", params={"id": keys["device"], "lat": "-6.17", "lon": "106.63",
                                          "timestamp": fix_time, "key": keys["tracker"]})
        assert r.status_code == 200, r.text
        self.fix_time = fix_time
        self.layer = f"drill_{tag}"
        drill.ok("layers", "publish", str(_layer_file(tmp, self.layer)), "--id", self.layer,
                 "--title", f"Uji pemulihan {tag} (SINTETIS)", "--opd", "DPUPR")


def _present(drill: Drill, w: Writes) -> dict[str, bool]:
    lap = drill.sql("SELECT count(*) FROM laporan WHERE id = %s", (int(w.laporan),))
    fix = drill.sql("SELECT count(*) FROM fleet.position WHERE fix_time = to_timestamp(%s)", (w.fix_time,))
    layer = drill.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = %s", (w.layer,))
    return {"laporan": lap[0][0] > 0, "fix": fix[0][0] > 0, "layer": layer[0][0] > 0}


def _keys(drill: Drill) -> dict:
    with psycopg.connect(drill.settings.dsn) as db:
        db.row_factory = psycopg.rows.dict_row
        device = register_device(db, "drill")
        citizen, _ = apikeys.create(db, TESTER, f"drill-cit-{uuid.uuid4().hex[:6]}", "citizen_app")
        tracker, _ = apikeys.create(db, TESTER, f"drill-trk-{uuid.uuid4().hex[:6]}", "tracker", device=device)
    return {"citizen": citizen, "tracker": tracker, "device": device}


def test_restore_drill_to_a_point_in_time(drill, tmp_path):
    keys = _keys(drill)
    with LiveServer(drill.settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        first = Writes(drill, client, keys, tmp_path, "a")
        assert "backup" in drill.ok("db", "backup", "--type", "full").stderr
        after_backup = Writes(drill, client, keys, tmp_path, "b")  # only in the WAL, not in the backup
        target = drill.sql("SELECT now()")[0][0]
        later = Writes(drill, client, keys, tmp_path, "c")
        assert _present(drill, later) == {"laporan": True, "fix": True, "layer": True}
    when = target.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S.%f WIB")
    listed = drill.ok("db", "backups").stdout
    assert "full" in listed and "restorable from" in listed
    restored = drill.ok("db", "restore", "--to", when, "--yes")
    assert "restored to" in restored.stderr
    assert _present(drill, first) == {"laporan": True, "fix": True, "layer": True}
    assert _present(drill, after_backup) == {"laporan": True, "fix": True, "layer": True}
    assert _present(drill, later) == {"laporan": False, "fix": False, "layer": False}
    # the platform serves again from the restored cluster
    with LiveServer(drill.settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert client.get(f"{BASE}/requests/{first.laporan}.json").status_code == 200
        assert client.get(f"{BASE}/requests/{later.laporan}.json").status_code == 404
        assert client.get(f"/ogc/collections/{after_backup.layer}/items").status_code == 200
        assert client.get(f"/ogc/collections/{later.layer}/items").status_code == 404
        # and writes again, on the new timeline, which the next backup and restore follow
        assert Writes(drill, client, keys, tmp_path, "d").laporan
    assert drill.ok("db", "backup").returncode == 0


@pytest.mark.parametrize("when", ["2020-01-01 07:00 WIB", "2199-01-01 00:00 WIB"])
def test_restore_outside_the_retained_range_changes_nothing(drill, when):
    before = drill.sql("SELECT count(*) FROM laporan")[0][0]
    pid = pgcluster.status(drill.settings).pid
    proc = drill.cli("db", "restore", "--to", when, "--yes")
    assert proc.returncode != 0
    assert "outside the retained range" in proc.stderr and "nothing was changed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert pgcluster.status(drill.settings).pid == pid  # not even restarted
    assert drill.sql("SELECT count(*) FROM laporan")[0][0] == before
    bad = drill.cli("db", "restore", "--to", "kemarin sore", "--yes")
    assert bad.returncode != 0 and "not a time" in bad.stderr


def _mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {proc.stderr.strip()}")


@pytest.mark.parametrize("options, expected", [("size=1m", "No space left"), ("ro,size=1m", "not writable")])
def test_backup_to_a_full_or_read_only_disk_fails_and_leaves_the_cluster(drill, options, expected):
    repo = drill.base / f"repo-{uuid.uuid4().hex[:6]}"
    _mount_tmpfs(repo, options)
    try:
        pid = pgcluster.status(drill.settings).pid
        before = drill.sql("SELECT count(*) FROM laporan")[0][0]
        proc = drill.cli("db", "backup", "--type", "full", env={"SATUPETA_BACKUP_REPO_DIR": str(repo)})
        assert proc.returncode != 0
        assert expected.lower() in proc.stderr.lower(), proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
        assert pgcluster.status(drill.settings).pid == pid
        assert drill.sql("SELECT count(*) FROM laporan")[0][0] == before
    finally:
        subprocess.run(["umount", "-l", str(repo)], check=False)
    # the configured repository works again at once
    assert drill.ok("db", "backup").returncode == 0


def test_pg_dump_export(drill, tmp_path):
    out = tmp_path / "satupeta.dump"
    proc = drill.ok("db", "export", str(out))
    assert out.stat().st_size > 0 and "pg_restore" in proc.stderr
    listing = subprocess.run(["pg_restore", "--list", str(out)], capture_output=True, text=True, check=True).stdout
    assert " laporan " in listing and "fleet position" in listing.replace(".", " ")
    again = drill.cli("db", "export", str(out))
    assert again.returncode != 0 and "exists already" in again.stderr
