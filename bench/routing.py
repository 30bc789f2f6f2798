"""Routing with explanations on synthetic laporan, and POST requests.json over real HTTP with concurrent clients.

Peers, in the same run: one plain gist-indexed PostGIS point-in-polygon query per laporan (routing), and
GET /open311/v2/services.json on the same server (HTTP: one trivial read through the same stack).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time

import httpx
import psycopg
import shapely
from psycopg.rows import dict_row

from bench._common import console, free_port, http_load, pct, prepare_city, report, scratch_database
from geo_api.db import connect, fetch_one
from geo_api.routing.lokasi import load_reverse_index
from geo_api.routing.service import load, route
from geo_api.settings import Settings

# Share of categories in the synthetic stream; the road categories exercise the layer rules.
CATEGORIES = {"jalan_rusak": 25, "sampah_menumpuk": 20, "saluran_tersumbat": 10, "lampu_jalan_mati": 10, "banjir": 8,
              "pkl": 7, "parkir_liar": 6, "pohon_tumbang": 5, "bangunan_liar": 4, "lainnya": 3, "tidak_dikenal": 2}
BBOX = (106.57, -6.26, 106.76, -6.12)  # the city and a little of its neighbours


def synthetic(n: int, city=None, seed: int = 6) -> list[tuple[str, float, float]]:
    """n (category, lat, lon): 90% inside the city (when its outline is given), a third of all within 30 m of
    a synthetic road line, the rest anywhere in the box (neighbours: hand-offs)."""
    rnd = random.Random(seed)
    cats = rnd.choices(list(CATEGORIES), weights=list(CATEGORIES.values()), k=n)
    out = []
    for c in cats:
        while True:
            lon, lat = rnd.uniform(BBOX[0], BBOX[2]), rnd.uniform(BBOX[1], BBOX[3])
            if city is None or rnd.random() < 0.1 or shapely.contains_xy(city, lon, lat):
                break
        if rnd.random() < 1 / 3:  # snap near one of the synthetic roads (lat -6.18 / -6.21, lon 106.65 / 106.70)
            axis = rnd.choice([("lat", -6.18), ("lat", -6.21), ("lon", 106.65), ("lon", 106.70)])
            jitter = rnd.uniform(-0.00027, 0.00027)
            lat, lon = (axis[1] + jitter, lon) if axis[0] == "lat" else (lat, axis[1] + jitter)
        out.append((c, lat, lon))
    return out


def _city(settings: Settings):
    with connect(settings) as conn:
        row = conn.execute("SELECT ST_AsBinary(geom) AS wkb FROM batas_kota").fetchone()
    city = shapely.from_wkb(bytes(row["wkb"]))
    shapely.prepare(city)
    return city


async def _conn(settings: Settings) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True)


async def _route_all(settings: Settings, points, workers: int) -> tuple[float, dict[str, int]]:
    conns = [await _conn(settings) for _ in range(workers)]
    routing = await load(conns[0], settings.routing_triase_opd)
    reverse = await load_reverse_index(conns[0], settings)
    counts: dict[str, int] = {}

    async def worker(i: int) -> None:
        for cat, lat, lon in points[i::workers]:
            k = await route(conns[i], routing, reverse, cat, lat, lon)
            assert k.teks and k.alasan
            counts[k.keputusan] = counts.get(k.keputusan, 0) + 1
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    dt = time.perf_counter() - t0
    for c in conns:
        await c.close()
    return dt, counts


async def _peer_all(settings: Settings, points, workers: int) -> float:
    conns = [await _conn(settings) for _ in range(workers)]

    async def worker(i: int) -> None:
        for _cat, lat, lon in points[i::workers]:
            await fetch_one(conns[i], "routing_peer_pip", {"lat": lat, "lon": lon})
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    dt = time.perf_counter() - t0
    for c in conns:
        await c.close()
    return dt


def _http(scratch: Settings, key: str, n: int, clients: int, city) -> tuple[tuple, tuple]:
    port = free_port()
    # the benchmark measures the intake, not the write limit: all its load comes from one loopback address
    env = {**os.environ, "DATABASE_URL": scratch.dsn, "SATUPETA_LOG_LEVEL": "warning",
           "SATUPETA_RATELIMIT_ENABLED": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "geo_api.app:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        pts = synthetic(n + 50, city, seed=11)

        def post(c: httpx.AsyncClient, i: int):
            cat, la, lo = pts[i]
            cat = cat if cat != "tidak_dikenal" else "lainnya"
            return c.post("/open311/v2/requests.json", data={"api_key": key, "service_code": cat, "lat": str(la),
                                                            "long": str(lo), "description": f"bench {i}"})
        asyncio.run(http_load(url, 50, 4, lambda c, i: post(c, n + i)))  # warm-up: geocoder, rule cache
        ours, ours_wall = asyncio.run(http_load(url, n, clients, post))
        peer, peer_wall = asyncio.run(http_load(url, n, clients, lambda c, i: c.get("/open311/v2/services.json")))
        return (ours, ours_wall), (peer, peer_wall)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def run(argv: list[str]) -> int:
    """Routing throughput with explanations vs one PIP query per laporan; POST latency over real HTTP."""
    parser = argparse.ArgumentParser(prog="python -m bench routing")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4, help="concurrent database connections for routing")
    parser.add_argument("--http-requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args(argv)
    settings = Settings()
    with scratch_database(settings) as scratch:
        key = prepare_city(scratch, "bench")
        city = _city(scratch)
        points = synthetic(args.reports, city)
        ours, counts = asyncio.run(_route_all(scratch, points, args.workers))
        peer = asyncio.run(_peer_all(scratch, points, args.workers))
        (post_lat, post_wall), (get_lat, get_wall) = _http(scratch, key, args.http_requests, args.clients, city)
    n = args.reports
    report(f"Routing {n:,} synthetic laporan with explanations ({args.workers} connections)", [
        ("laporan routed per second (with reasons)", n / ours, n / peer, "/s"),
    ], peer="1 indexed PIP query per laporan")
    console.print("decisions: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    m = args.http_requests
    report(f"Open311 over real HTTP: {m:,} requests, {args.clients} concurrent clients, 1 uvicorn worker", [
        ("POST requests.json p50", pct(post_lat, 50), pct(get_lat, 50), "s"),
        ("POST requests.json p99", pct(post_lat, 99), pct(get_lat, 99), "s"),
        ("POST requests.json mean", statistics.fmean(post_lat), statistics.fmean(get_lat), "s"),
        ("requests per second", m / post_wall, m / get_wall, "/s"),
    ], peer="GET services.json")
    console.print("Machine shared with other engineers (2 cores): figures are noisy.")
    return 0
