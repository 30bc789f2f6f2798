"""Si Lacak figures: OsmAnd ingest over HTTP with many concurrent devices (group commit vs one INSERT+commit per
fix), bulk import vs plain COPY, and trip/stop/visit detection time.

    python -m bench fleet [--devices 500] [--seconds 15] [--import-rows 300000] [--trucks 300] [--workers 1]

The servers run as separate uvicorn processes (httptools, uvloop, no access log) on a scratch database; the load
generator is a raw keep-alive HTTP/1.1 client, one connection per device, each device sending its next fix when
the previous one is acknowledged (as Traccar Client does). The machine is shared: figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench._common import console, report, scratch_database
from geo_api.db import migrate
from geo_api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the peer: one INSERT + commit per fix

def peer_app():
    """ASGI app for the peer: same decoding and device lookup, then a single-row INSERT committed per request."""
    from psycopg_pool import AsyncConnectionPool
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from ingestion.osmand import DecodeError, decode_request

    settings = Settings()
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with AsyncConnectionPool(settings.dsn, min_size=20, max_size=20, kwargs={"autocommit": True}) as pool:
            async with pool.connection() as conn:
                rows = await (await conn.execute("SELECT unique_id, id FROM fleet.device")).fetchall()
            state.update(pool=pool, ids=dict(rows))
            yield

    async def endpoint(request):
        try:
            fix = decode_request(request.url.query, b"", None)
        except DecodeError:
            return Response(status_code=400)
        device_id = state["ids"].get(fix.unique_id)
        if device_id is None:
            return Response(status_code=400)
        async with state["pool"].connection() as conn:
            await conn.execute(
                "INSERT INTO fleet.position (device_id, fix_time, lat, lon, speed_kn) "
                "VALUES (%s, to_timestamp(%s), %s, %s, %s)", (device_id, fix.fix_time, fix.lat, fix.lon, fix.speed_kn))
        return Response(status_code=200)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])], lifespan=lifespan)


# ---------------------------------------------------------------- servers and load

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _server(settings: Settings, target: str, workers: int):
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=settings.dsn, SATUPETA_LOG_LEVEL="warning",
               SATUPETA_FLEET_DEVICE_RATE="100000", SATUPETA_FLEET_DEVICE_BURST="100000",
               SATUPETA_POOL_MAX_SIZE="20",
               SATUPETA_FLEET_TRACKER_AUTH="off")  # ingest throughput, keyless bench devices: auth off, explicitly
    cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--http", "httptools", "--loop", "uvloop", "--no-access-log",
           "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{target} did not start")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def _device(port: int, path: str, unique: str, t0: int, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(unique)
    lat, lon = -6.2 + rng.uniform(-0.03, 0.03), 106.63 + rng.uniform(-0.03, 0.03)
    i = 0
    try:
        while time.monotonic() < stop_at:
            i += 1
            lat += 3e-5
            q = f"id={unique}&lat={lat:.6f}&lon={lon:.6f}&timestamp={t0 + i}&speed=12.3&bearing=90"
            writer.write(f"GET {path}?{q} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            low = head.lower()
            k = low.find(b"content-length:")
            if k >= 0:
                n = int(low[k + 15:low.find(b"\r\n", k)])
                if n:
                    await reader.readexactly(n)
            counts[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def _load(port: int, path: str, devices: list[str], seconds: float) -> tuple[float, int]:
    counts = [0, 0]
    t0 = int(time.time()) - 3600
    warm = time.monotonic() + 2
    await asyncio.gather(*(_device(port, path, u, t0 - 10_000, warm, [0, 0]) for u in devices[:50]))
    start = time.monotonic()
    await asyncio.gather(*(_device(port, path, u, t0, start + seconds, counts) for u in devices))
    dt = time.monotonic() - start
    if counts[1]:
        console.print(f"[yellow]{counts[1]} non-200 answers[/]")
    return counts[0] / dt, counts[0]


def _count(settings: Settings) -> int:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute("SELECT count(*) FROM fleet.position").fetchone()[0]


def _register(settings: Settings, n: int) -> list[str]:
    ids = [f"BENCH-{i:04d}" for i in range(n)]
    with psycopg.connect(settings.dsn) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO fleet.device (unique_id) VALUES (%s)", [(u,) for u in ids])
        conn.execute("SELECT fleet.ensure_partition((now() AT TIME ZONE 'UTC')::date + d) "
                     "FROM generate_series(-2, 1) AS d")
    return ids


def bench_http(settings: Settings, devices: int, seconds: float, workers: int) -> list[tuple]:
    """Positions/s over HTTP: ours (group commit) vs the peer (INSERT + commit per fix)."""
    import uvloop

    ids = _register(settings, devices)
    ours = {}
    for name, target, path in (("listener port (as Traccar's 5055)", "geo_api.fleet.listener:create_listener_from_env",
                                "/"),
                               ("main app /osmand", "geo_api.app:create_app", "/osmand")):
        before = _count(settings)
        with _server(settings, target, workers) as port:
            ours[name], acked = uvloop.run(_load(port, path, ids, seconds))
        stored = _count(settings) - before
        console.print(f"{name}: {acked} acknowledged in the timed run, {stored} stored (incl. warm-up); "
                      f"every acknowledged fix stored: {stored >= acked}")
    with _server(settings, "bench.fleet:peer_app", workers) as port:
        peer, _ = uvloop.run(_load(port, "/osmand", ids, seconds))
    return [(f"OsmAnd HTTP {name}, {devices} devices, {workers} worker(s)", v, peer, "fixes/s")
            for name, v in ours.items()]


# ---------------------------------------------------------------- bulk import

def bench_import(settings: Settings, n: int) -> list[tuple]:
    """Rows/s of `fleet import` (parse, filters, COPY) vs a plain COPY of the same CSV into a bare table."""
    from geo_api.db import connect
    from ingestion.fleet_import import import_csv_fast, import_fixes, read_csv

    ids = [f"IMP-{i:03d}" for i in range(50)]
    with psycopg.connect(settings.dsn) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO fleet.device (unique_id) VALUES (%s)", [(u,) for u in ids])
    t0 = int(time.time()) - 3 * 86400
    buf = io.StringIO()
    buf.write("id,timestamp,lat,lon,speed,bearing\n")
    per = n // len(ids)
    for k, u in enumerate(ids):
        lat = -6.2 + k * 1e-3
        for i in range(per):
            buf.write(f"{u},{t0 + 5 * i},{lat + i * 2e-5:.6f},106.6300,10.0,90\n")
    path = Path(f"/tmp/satupeta_bench_import_{os.getpid()}.csv")
    path.write_text(buf.getvalue())
    rows = per * len(ids)
    try:
        start = time.perf_counter()
        with connect(settings) as conn:
            counts = import_csv_fast(conn, path, None)
        ours = rows / (time.perf_counter() - start)
        assert counts["good"] == rows, counts
        with connect(settings) as conn:
            conn.execute("TRUNCATE fleet.position")
            conn.commit()
            start = time.perf_counter()
            counts = import_fixes(conn, read_csv(path, None))
            rowwise = rows / (time.perf_counter() - start)
        assert counts["good"] == rows, counts
        with psycopg.connect(settings.dsn) as conn:
            conn.execute("CREATE TABLE plain_copy (id text, ts bigint, lat float8, lon float8, speed real, "
                         "bearing real)")
            start = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY plain_copy FROM STDIN (FORMAT csv, HEADER true)") as cp:
                with path.open("rb") as fh:
                    while chunk := fh.read(1 << 20):
                        cp.write(chunk)
            conn.commit()
            peer = rows / (time.perf_counter() - start)
    finally:
        path.unlink(missing_ok=True)
    return [(f"satupeta fleet import, {rows:,} CSV rows (vectorised filters, partitioned COPY)", ours, peer, "rows/s"),
            (f"row-by-row path (GPX and live filters), {rows:,} CSV rows", rowwise, peer, "rows/s")]


# ---------------------------------------------------------------- detection

def _naive_stops(points, radius_m: float, min_s: float, gap_s: float) -> int:
    """The textbook loop: haversine per pair, no arrays (the peer for detection)."""
    from ingestion.fix_filters import haversine_m

    n, i, found = len(points), 0, 0
    while i < n - 1:
        j = i + 1
        while (j < n and haversine_m(points[i][1], points[i][2], points[j][1], points[j][2]) <= radius_m
               and points[j][0] - points[j - 1][0] <= gap_s):
            j += 1
        if points[j - 1][0] - points[i][0] >= min_s:
            found += 1
            i = j
        else:
            i += 1
    return found


def bench_detection(settings: Settings, trucks: int) -> list[tuple]:
    """Seconds for one truck-day and for `trucks` truck-days (a fleet-day; a month is 30 of those)."""
    from geo_api.db import connect
    from ingestion import trips as det
    from ingestion.fleet_sim import plan_fleet, synthetic_sites

    with connect(settings) as conn:
        kel = conn.execute("SELECT kode, nama, kec_kode, label_lat, label_lon FROM kelurahan").fetchall()
        kec = conn.execute("SELECT kode, nama, label_lat, label_lon FROM kecamatan").fetchall()
    specs = synthetic_sites(kel)
    sites = [det.Site(str(i), s.nama, s.jenis, __import__("shapely").Point(s.lon, s.lat),
                      300.0 if s.jenis == "TPA" else 50.0) for i, s in enumerate(specs)]
    plans = plan_fleet(trucks, 12, time.time() - 86400, kec, specs, interval=5, seed=3)
    cfg = det.DetectionConfig()
    tracks = [det.Track.from_rows([(f[0], f[1], f[2]) for f in p.fixes]) for p in plans]
    fixes = sum(len(t) for t in tracks)
    start = time.perf_counter()
    det.summarise(tracks[0], sites, cfg)
    one = time.perf_counter() - start
    start = time.perf_counter()
    _naive_stops(plans[0].fixes, cfg.stop_radius_m, cfg.stop_min_duration_s, cfg.split_gap_s)
    one_peer = time.perf_counter() - start
    start = time.perf_counter()
    for t in tracks:
        det.summarise(t, sites, cfg)
    fleet = time.perf_counter() - start
    start = time.perf_counter()
    for p in plans:
        _naive_stops(p.fixes, cfg.stop_radius_m, cfg.stop_min_duration_s, cfg.split_gap_s)
    fleet_peer = time.perf_counter() - start
    console.print(f"detection input: {len(tracks[0]):,} fixes per truck-day, {fixes:,} fixes for {trucks} trucks; "
                  f"{len(sites)} sites. A month of the fleet = 30 x the fleet-day figure (extrapolated, not run).")
    return [
        (f"one truck-day ({len(tracks[0]):,} fixes): stops+trips+visits vs naive stops-only", one, one_peer, "s"),
        (f"fleet-day, {trucks} trucks ({fixes:,} fixes)", fleet, fleet_peer, "s"),
        (f"month of {trucks} trucks (30 x fleet-day, extrapolated)", fleet * 30, fleet_peer * 30, "s"),
    ]


def run(argv: list[str]) -> int:
    """Run the fleet benchmarks on a scratch database."""
    ap = argparse.ArgumentParser(prog="python -m bench fleet")
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--import-rows", type=int, default=300_000)
    ap.add_argument("--trucks", type=int, default=300)
    ap.add_argument("--only", choices=["http", "import", "detection"], default=None)
    args = ap.parse_args(argv)
    base = Settings()
    with scratch_database(base, "satupeta_bench_fleet") as settings:
        migrate(settings)
        from geo_api.db import connect
        from ingestion.bundled import load_bundled

        with connect(settings) as conn:
            load_bundled(conn, settings.data_dir, only=["kecamatan", "kelurahan"])
        rows = []
        if args.only in (None, "http"):
            http_rows = bench_http(settings, args.devices, args.seconds, args.workers)
            rows += http_rows
            report("Si Lacak ingest over HTTP", http_rows, "INSERT+commit per fix")
        if args.only in (None, "import"):
            imp = bench_import(settings, args.import_rows)
            rows += imp
            report("Si Lacak bulk import", imp, "plain COPY, bare table")
        if args.only in (None, "detection"):
            det_rows = bench_detection(settings, args.trucks)
            rows += det_rows
            report("Si Lacak detection", det_rows, "naive loop")
    return 0
