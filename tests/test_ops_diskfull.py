"""Disk full under the database during GPS ingest: a throwaway cluster of the test's own on a small tmpfs the test
mounts; filled up, the ingest answers 503 (never 500), no acknowledged fix is lost, and it recovers when space
returns."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from geo_api import pgcluster
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from ingestion.bundled import load_bundled
from ingestion.fleet_registry import add_device, add_vehicle
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def small_cluster(settings):
    base = Path(tempfile.mkdtemp(prefix="satupeta-full-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    mnt = base / "mnt"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320m,mode=0755", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"cannot mount a tmpfs here (needs root): {proc.stderr.strip()}")
    own = settings.model_copy(update={"database_url": None, "pg_data_dir": mnt / "pg", "pg_port": _free_port(),
                                      "fleet_tracker_auth": "off", "pool_max_size": 4})
    own = Settings(**{**own.model_dump(), "database_url": None})
    try:
        pgcluster.start(own)
        migrate(own)
        with connect(own) as conn:
            load_bundled(conn, own.data_dir, only=["kelurahan", "kecamatan"])
        yield own, mnt
    finally:
        try:
            pgcluster.stop(own)
        finally:
            subprocess.run(["umount", "-l", str(mnt)], check=False)
            shutil.rmtree(base, ignore_errors=True)


def _fill(mnt: Path, leave: int) -> Path:
    filler = mnt / "filler"
    free = shutil.disk_usage(mnt).free
    with open(filler, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, max(0, free - leave))
    return filler


def test_disk_full_during_ingest_is_503_and_recovers(small_cluster):
    own, mnt = small_cluster
    with connect(own) as db:
        vid = add_vehicle(db, f"B {uuid.uuid4().hex[:6].upper()}", "compactor", "36.71.01", "Depot uji")
        device = f"full-{uuid.uuid4().hex[:8]}"
        add_device(db, device, vid)
        db.commit()
    acked: set[int] = set()
    statuses: dict[int, int] = {}
    t0 = int(time.time()) - 20000
    seq = iter(range(10**6))

    def send(client) -> int:
        t = t0 + next(seq)
        try:
            r = client.get("/osmand", params={"id": device, "lat": "-6.17", "lon": "106.63", "timestamp": t})
        except httpx.HTTPError:
            return -1
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code == 200:
            acked.add(t)
        return r.status_code

    with LiveServer(own) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert all(send(client) == 200 for _ in range(20))
        filler = _fill(mnt, leave=16 * 1024)
        failures = 0
        for _ in range(20000):  # until the data files cannot grow: each fix is a row in today's partition
            code = send(client)
            if code != 200:
                assert code == 503, statuses
                failures += 1
                if failures >= 5:
                    break
        assert failures >= 5, f"the disk never filled: {statuses}"
        assert 500 not in statuses
        filler.unlink()  # space returns
        if not pgcluster.status(own).running:  # a PANIC on WAL: the operator's one command brings it back
            pgcluster.start(own)
        recovered = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if send(client) == 200:
                recovered = True
                break
            time.sleep(0.5)
        assert recovered, statuses
        assert client.get("/health/live").status_code == 200
    with connect(own) as db:
        stored = {r["t"] for r in db.execute(
            "SELECT extract(epoch FROM p.fix_time)::bigint AS t FROM fleet.position p JOIN fleet.device d "
            "ON d.id = p.device_id WHERE d.unique_id = %s", (device,)).fetchall()}
    lost = acked - stored
    assert not lost, f"{len(lost)} acknowledged fixes lost"
