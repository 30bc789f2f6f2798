"""Reverse geocoding: 1M random points over the city bbox, ours vs a PostGIS ST_Contains join and
geopandas.sjoin in the same run (answers compared); end to end through the CLI path and the batch endpoint;
single requests over HTTP; peak RSS of the CLI on 10M points."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely

from bench._common import console, report, scratch_database
from bench._geocode_http import latency, live_app
from geo_api.db import connect, migrate
from geo_api.geocoding import load_geocoder
from geo_api.geocoding.reverse import DECISIONS
from geo_api.geocoding.streams import reverse_file
from geo_api.settings import Settings
from ingestion.bundled import load_bundled

BBOX = (106.5515, -6.2561, 106.7486, -6.0971)


def _points(n: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(BBOX[0], BBOX[2], n), rng.uniform(BBOX[1], BBOX[3], n)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _postgis(conn, lon: np.ndarray, lat: np.ndarray) -> tuple[float, list[set[str]]]:
    """The peer: points COPYed into a table (not timed), then one ST_Contains join (timed, results fetched)."""
    conn.execute("DROP TABLE IF EXISTS bench_pts")
    conn.execute("CREATE UNLOGGED TABLE bench_pts (id integer, geom geometry(Point, 4326))")
    with conn.cursor().copy("COPY bench_pts (id, geom) FROM STDIN") as cp:
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
            cp.write_row((i, f"SRID=4326;POINT({x} {y})"))
    conn.execute("ANALYZE bench_pts")
    conn.commit()
    t0 = time.perf_counter()
    rows = conn.execute("SELECT p.id, k.kode FROM bench_pts p JOIN kelurahan k ON ST_Contains(k.geom, p.geom)") \
        .fetchall()
    dt = time.perf_counter() - t0
    sets: list[set[str]] = [set() for _ in range(len(lon))]
    for r in rows:
        sets[r["id"]].add(r["kode"])
    conn.execute("DROP TABLE bench_pts")
    conn.commit()
    return dt, sets


def _geopandas(conn, lon: np.ndarray, lat: np.ndarray) -> tuple[float, list[set[str]]]:
    rows = conn.execute("SELECT kode, ST_AsBinary(geom) AS wkb FROM kelurahan").fetchall()
    kel = gpd.GeoDataFrame({"kode": [r["kode"] for r in rows]},
                           geometry=shapely.from_wkb([bytes(r["wkb"]) for r in rows]), crs=4326)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    t0 = time.perf_counter()
    joined = gpd.sjoin(pts, kel, how="inner", predicate="within")
    dt = time.perf_counter() - t0
    sets: list[set[str]] = [set() for _ in range(len(lon))]
    for i, k in zip(joined.index.to_numpy().tolist(), joined["kode"].tolist(), strict=True):
        sets[i].add(k)
    return dt, sets


def _compare(index, res, pg: list[set[str]], gp: list[set[str]]) -> tuple[int, int]:
    """Points where PostGIS and geopandas agree, and how many of those our answer contradicts."""
    kodes = [w.kode for w in index.kelurahan]
    agree = mismatch = 0
    for i, (a, b) in enumerate(zip(pg, gp, strict=True)):
        if a != b:
            continue
        agree += 1
        dec = DECISIONS[res.decision[i]]
        ours = kodes[res.kelurahan[i]] if dec in ("inside", "overlap") else None
        expect = min(a) if a else None
        if ours != expect or (len(a) > 1) != (dec == "overlap"):
            mismatch += 1
    return agree, mismatch


def _csv_file(path: Path, n: int, seed: int) -> None:
    """Write n random points as id,lat,lon in chunks (bounded memory)."""
    writer = None
    chunk = 1_000_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        lon, lat = _points(m, seed + start)
        t = pa.table({"id": pa.array(np.arange(start, start + m)), "lat": np.round(lat, 6),
                      "lon": np.round(lon, 6)})
        if writer is None:
            writer = pacsv.CSVWriter(str(path), t.schema)
        writer.write_table(t)
    writer.close()


def run(argv: list[str]) -> int:
    """Run the reverse benchmarks and print the side-by-side tables."""
    ap = argparse.ArgumentParser(prog="python -m bench reverse")
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rss-points", type=int, default=10_000_000, help="0 skips the 10M-point RSS run")
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args(argv)
    base = Settings()
    with scratch_database(base) as settings:
        migrate(settings)
        with connect(settings) as conn:
            load_bundled(conn, settings.data_dir)
            t0 = time.perf_counter()
            geo = load_geocoder(conn, tolerance_m=settings.geocode_gap_tolerance_m,
                                nearest_max_m=settings.geocode_nearest_max_m)
            console.print(f"index built in {time.perf_counter() - t0:.2f} s; "
                          f"{100 * geo.reverse.exact_cell_share:.1f}% of grid cells use the exact path")
            lon, lat = _points(args.points)
            ours_s, res = _best(lambda: geo.reverse.lookup(lon, lat), args.repeat)
            pg_s, pg = _postgis(conn, lon, lat)
            gp_s, gp = _geopandas(conn, lon, lat)
        agree, mismatch = _compare(geo.reverse, res, pg, gp)
        n = args.points
        report(f"Reverse geocoding, {n:,} random points over the city bbox (points/s)", [
            ("in-process index vs PostGIS ST_Contains join", n / ours_s, n / pg_s, "pts/s"),
            ("in-process index vs geopandas.sjoin", n / ours_s, n / gp_s, "pts/s"),
        ], peer="peer")
        console.print(f"answers: PostGIS and geopandas agree on {agree:,} points; ours differs on {mismatch:,} "
                      f"of them (decisions: " + ", ".join(
                          f"{d} {int((res.decision == i).sum()):,}" for i, d in enumerate(DECISIONS)) + ")")
        _end_to_end(settings, geo, n)
        if args.rss_points:
            _rss(args.rss_points)
    return 0


def _end_to_end(settings: Settings, geo, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "pts.csv"
        _csv_file(src, n, 7)
        rows = []
        for ext in ("csv", "parquet"):
            t0 = time.perf_counter()
            reverse_file(geo.reverse, src, Path(tmp) / f"out.{ext}")
            rows.append((f"CLI path, CSV in → {ext} out, {n:,} points", n / (time.perf_counter() - t0)))
        body = src.read_bytes()
        lines = body.split(b"\n")
        chunk = 200_000
        bodies = [b"\n".join([lines[0], *lines[1 + i:1 + i + chunk]]) for i in range(0, n, chunk)]
        with live_app(settings) as url, httpx.Client(base_url=url, timeout=120) as c:
            c.get("/geocode/reverse", params={"lat": -6.17, "lon": 106.63})  # builds the index
            t0 = time.perf_counter()
            for b in bodies:
                r = c.post("/geocode/reverse/batch", content=b, headers={"content-type": "text/csv"})
                assert r.status_code == 200, r.text[:200]
            rows.append((f"POST /geocode/reverse/batch, CSV, {len(bodies)} x {chunk:,}",
                         n / (time.perf_counter() - t0)))
            lon, lat = _points(10_000, 99)
            single = latency(url, lambda i: {"lat": lat[i], "lon": lon[i]}, 2000, "/geocode/reverse")
        for what, rate in rows:
            console.print(f"end to end: {what}: {rate:,.0f} points/s")
        console.print("GET /geocode/reverse over HTTP (4 client threads, 2,000 requests): "
                      f"p50 {single['p50_ms']:.2f} ms, p99 {single['p99_ms']:.2f} ms, "
                      f"{single['rps']:,.0f} requests/s, statuses {single['codes']}")


def _rss(n: int) -> None:
    """Peak RSS of `satupeta geocode reverse` (a child process) on an n-point CSV."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "big.csv"
        _csv_file(src, n, 11)
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "geo_api.cli", "geocode", "reverse", str(src),
                                 str(Path(tmp) / "out.csv")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        stderr = proc.stderr.read()
        # wait4: this child's own peak RSS (RUSAGE_CHILDREN would also count the earlier served app).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        dt = time.perf_counter() - t0
        peak_mb = usage.ru_maxrss / 1024
        console.print(f"CLI on {n:,} points ({src.stat().st_size / 1e6:,.0f} MB CSV): exit {proc.returncode}, "
                      f"{dt:.1f} s wall incl. start-up and index build, peak RSS {peak_mb:,.0f} MB")
        if proc.returncode:
            console.print(stderr[-500:])
