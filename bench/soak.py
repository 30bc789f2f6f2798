"""Soak with a fault: reports, GPS fixes and reads against the served app, PostgreSQL killed mid-run.

Everything on loopback, for a bounded time, on a SCRATCH cluster of its own (own port, own data folder,
never the shared development cluster): concurrent Open311 report submissions, OsmAnd GPS ingest from
simulated devices, OGC items/tile and Open311 reads. At --kill-at of the run the cluster is stopped with
`pg_ctl stop -m immediate` (a crash: no checkpoint, clients cut off), restarted --down seconds later, and
the load goes on. Afterwards it counts requests served, errors by kind, and acknowledged writes (a 200 to
a report or a fix) missing from the database: that last figure must be zero.

There is no peer here: the figure that matters is the last one, and it is absolute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psycopg
from psycopg.rows import dict_row
from rich.table import Table

from bench._common import console
from geo_api import pgcluster
from geo_api.apikeys import key_hash, new_key
from geo_api.db import connect, migrate
from geo_api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TILE = "/ogc/collections/kelurahan/tiles/WebMercatorQuad/12/3261/2118"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_cluster(tmp: Path) -> Settings:
    """Initialise and start a cluster of our own (small buffers: the machine is shared)."""
    s = Settings(database_url=None, pg_data_dir=tmp / "pgdata", pg_port=_free_port(), pg_database="soak")
    pgcluster.init(s)
    with (pgcluster.data_dir(s) / "postgresql.auto.conf").open("a", encoding="utf-8") as fh:
        fh.write("shared_buffers = '128MB'\nmax_connections = 60\nfsync = on\n")
    console.print(pgcluster.start(s))
    return s


def kill_cluster(s: Settings) -> None:
    """pg_ctl stop -m immediate: the server processes exit at once, without a shutdown checkpoint."""
    pgcluster._run(s, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(pgcluster.data_dir(s)))


def stop_cluster(s: Settings) -> None:
    """Stop the scratch cluster (fast) if it runs."""
    with contextlib.suppress(Exception):
        pgcluster.stop(s)


def prepare(s: Settings, devices: int) -> tuple[str, list[str]]:
    """Schema, bundled data, the OPD catalogue; a citizen_app key and registered GPS devices."""
    from geo_api import catalogue
    from ingestion.bundled import load_bundled

    migrate(s)
    with connect(s) as conn:
        load_bundled(conn, s.data_dir)

    async def setup():
        async with await psycopg.AsyncConnection.connect(s.dsn, row_factory=dict_row, autocommit=True) as conn:
            await catalogue.setup(conn, s)

    asyncio.run(setup())
    key = new_key()
    ids = [f"soak-{i:04d}" for i in range(devices)]
    with connect(s) as conn:
        conn.execute("INSERT INTO api_key (name, role, key_hash) VALUES ('soak-citizen', 'citizen_app', %s)",
                     (key_hash(key),))
        for i, uid in enumerate(ids):
            vid = conn.execute("INSERT INTO fleet.vehicle (plat_nomor, jenis) VALUES (%s, 'compactor') RETURNING id",
                               (f"B {9000 + i} SK",)).fetchone()["id"]
            conn.execute("INSERT INTO fleet.device (unique_id, vehicle_id) VALUES (%s, %s)", (uid, vid))
    return key, ids


@contextlib.contextmanager
def served(s: Settings):
    """The real app in a uvicorn child process on a free port (write limits off: all load is one address)."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=s.dsn, SATUPETA_LOG_LEVEL="warning", SATUPETA_RATELIMIT_ENABLED="false",
               SATUPETA_FLEET_DEVICE_RATE="1000", SATUPETA_FLEET_DEVICE_BURST="1000", SATUPETA_POOL_MAX_SIZE="20",
               SATUPETA_FLEET_TRACKER_AUTH="off")  # keyless soak devices: tracker auth off, explicitly
    cmd = [sys.executable, "-m", "uvicorn", "geo_api.app:create_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--no-access-log", "--log-level", "critical"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the app did not start")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Tally:
    """Counts by workload: served (2xx), errors by kind, and the acknowledged writes to look for later."""

    def __init__(self):
        self.served: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()
        self.laporan: list[tuple[int, str]] = []
        self.fixes: list[tuple[str, int]] = []

    def outcome(self, workload: str, r: httpx.Response | BaseException) -> bool:
        """Record one answer; True when it was a success."""
        if isinstance(r, BaseException):
            self.errors[(workload, type(r).__name__)] += 1
            return False
        if 200 <= r.status_code < 300:
            self.served[workload] += 1
            return True
        self.errors[(workload, f"HTTP {r.status_code}")] += 1
        return False


async def reporter(c: httpx.AsyncClient, key: str, stop: float, t: Tally) -> None:
    """Submit reports one after another; remember each acknowledged id with its marker."""
    while time.monotonic() < stop:
        marker = f"soak-{uuid.uuid4().hex}"
        try:
            r = await c.post("/open311/v2/requests.json", data={
                "api_key": key, "service_code": "sampah_menumpuk", "lat": "-6.18994", "long": "106.62483",
                "description": f"Sampah menumpuk {marker}"})
        except httpx.HTTPError as exc:
            t.outcome("report POST", exc)
            await asyncio.sleep(0.05)
            continue
        if t.outcome("report POST", r):
            t.laporan.append((int(r.json()[0]["service_request_id"]), marker))
        elif r.status_code >= 500:
            await asyncio.sleep(0.05)


async def device(c: httpx.AsyncClient, uid: str, stop: float, t: Tally, start_ts: int) -> None:
    """One GPS device sending a fix per loop with a fresh timestamp; remember each acknowledged one."""
    ts = start_ts
    while time.monotonic() < stop:
        ts += 1
        try:
            r = await c.get("/osmand", params={"id": uid, "lat": f"{-6.18 + (ts % 100) * 1e-5:.6f}",
                                               "lon": "106.63", "timestamp": str(ts), "speed": "5"})
        except httpx.HTTPError as exc:
            t.outcome("GPS fix", exc)
            await asyncio.sleep(0.05)
            continue
        if t.outcome("GPS fix", r):
            t.fixes.append((uid, ts))
        else:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.02)


async def reader(c: httpx.AsyncClient, stop: float, t: Tally, i: int) -> None:
    """Items, a vector tile and the public Open311 list, round-robin."""
    paths = [("items GET", "/ogc/collections/kelurahan/items?limit=10"), ("tile GET", TILE),
             ("requests GET", "/open311/v2/requests.json")]
    n = i
    while time.monotonic() < stop:
        name, path = paths[n % len(paths)]
        n += 1
        try:
            t.outcome(name, await c.get(path))
        except httpx.HTTPError as exc:
            t.outcome(name, exc)
            await asyncio.sleep(0.05)


async def fault(s: Settings, t0: float, kill_at: float, down: float, log: list[str]) -> None:
    """Kill the cluster at kill_at seconds, restart it after `down` seconds."""
    await asyncio.sleep(max(0.0, t0 + kill_at - time.monotonic()))
    k = time.monotonic()
    await asyncio.to_thread(kill_cluster, s)
    log.append(f"killed PostgreSQL (pg_ctl stop -m immediate) at {k - t0:.1f} s")
    await asyncio.sleep(down)
    await asyncio.to_thread(pgcluster.start, s)
    log.append(f"restarted at {time.monotonic() - t0:.1f} s (down {time.monotonic() - k:.1f} s)")


async def load(url: str, s: Settings, key: str, ids: list[str], args) -> tuple[Tally, list[str], float]:
    """Run every workload and the fault for the bounded time."""
    t, log = Tally(), []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=15, limits=limits) as c:
        t0 = time.monotonic()
        stop = t0 + args.seconds
        start_ts = int(time.time()) - 3600
        jobs = [reporter(c, key, stop, t) for _ in range(args.reporters)]
        jobs += [device(c, uid, stop, t, start_ts) for uid in ids]
        jobs += [reader(c, stop, t, i) for i in range(args.readers)]
        jobs.append(fault(s, t0, args.kill_at, args.down, log))
        await asyncio.gather(*jobs)
        return t, log, time.monotonic() - t0


def missing(s: Settings, t: Tally) -> dict[str, int]:
    """Acknowledged writes not in the database (and laporan without their audit row)."""
    with connect(s) as conn:
        ids = [i for i, _ in t.laporan]
        rows = conn.execute("SELECT id, deskripsi FROM laporan WHERE id = ANY(%s)", (ids,)).fetchall()
        found = {r["id"]: r["deskripsi"] for r in rows}
        lost_laporan = sum(1 for i, m in t.laporan if m not in found.get(i, ""))
        audited = conn.execute("SELECT count(DISTINCT objek) AS n FROM audit_log WHERE aksi = 'laporan.create' "
                               "AND objek = ANY(%s)", ([f"laporan:{i}" for i in ids],)).fetchone()["n"]
        got = conn.execute(
            "SELECT d.unique_id, extract(epoch FROM p.fix_time)::bigint AS ts FROM fleet.position p "
            "JOIN fleet.device d ON d.id = p.device_id").fetchall()
        stored = {(r["unique_id"], r["ts"]) for r in got}
        lost_fixes = sum(1 for f in t.fixes if f not in stored)
    return {"laporan": lost_laporan, "fixes": lost_fixes, "laporan without audit row": len(ids) - audited}


def print_figures(t: Tally, log: list[str], elapsed: float, lost: dict[str, int]) -> None:
    """The run's figures: served per workload, errors by kind, acknowledged writes missing."""
    for line in log:
        console.print(line)
    table = Table(title=f"Soak: {elapsed:.0f} s on loopback, PostgreSQL killed and restarted mid-run")
    for col in ("workload", "served (2xx)", "per s", "errors by kind"):
        table.add_column(col, justify="left" if col in ("workload", "errors by kind") else "right")
    names = sorted(set(t.served) | {w for w, _ in t.errors})
    for w in names:
        errs = ", ".join(f"{k} ×{n}" for (ww, k), n in sorted(t.errors.items()) if ww == w) or "-"
        table.add_row(w, f"{t.served[w]:,}", f"{t.served[w] / elapsed:,.1f}", errs)
    table.add_row("total", f"{sum(t.served.values()):,}", f"{sum(t.served.values()) / elapsed:,.1f}",
                  f"{sum(t.errors.values()):,} errors")
    console.print(table)
    console.print(f"acknowledged writes: {len(t.laporan):,} laporan, {len(t.fixes):,} GPS fixes")
    console.print("acknowledged writes missing from the database: "
                  + ", ".join(f"{k} {v}" for k, v in lost.items()))


def run(argv: list[str]) -> int:
    """Run the soak on a scratch cluster; non-zero exit if an acknowledged write is missing."""
    ap = argparse.ArgumentParser(prog="python -m bench soak")
    ap.add_argument("--seconds", type=float, default=40, help="length of the load")
    ap.add_argument("--kill-at", type=float, default=15, help="seconds into the load when PostgreSQL is killed")
    ap.add_argument("--down", type=float, default=4, help="seconds PostgreSQL stays down")
    ap.add_argument("--reporters", type=int, default=8)
    ap.add_argument("--devices", type=int, default=40)
    ap.add_argument("--readers", type=int, default=6)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="satupeta-soak-") as tmp:
        os.chmod(tmp, 0o755)  # as root the cluster runs as postgres, which must reach the data folder
        s = scratch_cluster(Path(tmp))
        try:
            key, ids = prepare(s, args.devices)
            with served(s) as url:
                t, log, elapsed = asyncio.run(load(url, s, key, ids, args))
                time.sleep(1.0)
            lost = missing(s, t)
            print_figures(t, log, elapsed, lost)
        finally:
            stop_cluster(s)
    return 0 if not any(lost.values()) else 1
