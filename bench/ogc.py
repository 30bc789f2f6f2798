"""OGC serving: items pages/s and MVT tiles/s, ours vs tipg, both serving the same PostGIS tables in one run.

Both servers run as uvicorn subprocesses on loopback ports against one scratch database (migrated and loaded
with the bundled data). Requests are sequential over one keep-alive connection per server. Items workloads
alternate the servers over a few rounds and keep each one's best round (background load on the shared
machine then hits both alike); tiles run once cold (first request of each tile since start) and once warm.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager

import httpx
import morecantile

from bench._common import console, report, scratch_database
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from ingestion.bundled import load_bundled

CITY = (106.58, -6.28, 106.73, -6.10)  # Kota Tangerang, lon/lat
CITY_BBOX = ",".join(str(v) for v in (106.60, -6.22, 106.68, -6.14))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server(args: list[str], env: dict[str, str], ready: str):
    """A uvicorn subprocess on a free loopback port; yields its base URL once `ready` answers 200."""
    port = _port()
    cmd = [sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(url + ready, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _rate(client: httpx.Client, urls: list[str]) -> float:
    """Requests per second over the URLs (each must answer 200 or 204)."""
    t0 = time.perf_counter()
    for u in urls:
        r = client.get(u)
        if r.status_code not in (200, 204):
            raise RuntimeError(f"{u}: {r.status_code} {r.text[:200]}")
    return len(urls) / (time.perf_counter() - t0)


def _tiles(per_zoom: int) -> list[tuple[int, int, int]]:
    """Tiles z10–z16 over the city, evenly sampled to at most `per_zoom` a zoom."""
    out = []
    for z in range(10, 17):
        tiles = list(morecantile.tms.get("WebMercatorQuad").tiles(*CITY, zooms=[z]))
        step = max(1, len(tiles) // per_zoom)
        out += [(t.z, t.x, t.y) for t in tiles[::step][:per_zoom]]
    return out


def _items_urls(base: str, coll: str, limit: int, pages: int, bbox: bool) -> list[str]:
    extra = f"&bbox={CITY_BBOX}" if bbox else ""
    return [f"{base}/collections/{coll}/items?limit={limit}&offset={(i * limit) % 2000}{extra}"
            for i in range(pages)]


def run(argv: list[str]) -> int:
    """Serve one scratch database with both servers and print items and tiles rates side by side."""
    p = argparse.ArgumentParser(prog="python -m bench ogc")
    p.add_argument("--pages", type=int, default=60, help="items pages per workload (limit 100; /4 at 1000)")
    p.add_argument("--tiles-per-zoom", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per items workload (best kept)")
    args = p.parse_args(argv)
    settings = Settings()
    with scratch_database(settings) as scratch:
        migrate(scratch)
        with connect(scratch) as conn:
            load_bundled(conn, scratch.data_dir)
        env = {"DATABASE_URL": scratch.dsn}
        ours_env = {**env, "SATUPETA_LOG_LEVEL": "warning"}
        tipg_env = {**env, "TIPG_DB_SCHEMAS": '["public"]',
                    "TIPG_DB_TABLES": '["public.kelurahan","public.gazetteer","public.poi"]'}
        with _server(["geo_api.app:create_app", "--factory"], ours_env, "/ogc/collections") as ours, \
                _server(["tipg.main:app"], tipg_env, "/collections") as peer, \
                httpx.Client(timeout=60) as c1, httpx.Client(timeout=60) as c2:
            rows = _measure(args, ours + "/ogc", peer, c1, c2)
    report("OGC serving: ours vs tipg (same PostGIS, same run; sequential requests)", rows, peer="tipg")
    console.print("ratio > 1: ours is faster. Figures are noisy on a shared 2-core machine.")
    return 0


def _measure(args, ours: str, peer: str, c1: httpx.Client, c2: httpx.Client) -> list[tuple]:
    rows = []
    pair: list[tuple[str, Callable[[str, str], list[str]]]] = []
    for limit, pages in ((100, args.pages), (1000, max(5, args.pages // 4))):
        for bbox in (False, True):
            name = f"items gazetteer limit {limit}{' + bbox' if bbox else ''} (pages/s)"
            pair.append((name, lambda base, coll, lim=limit, n=pages, b=bbox: _items_urls(base, coll, lim, n, b)))
    for name, urls in pair:
        _rate(c1, urls(ours, "gazetteer")[:3])  # warm both (connections, catalog)
        _rate(c2, urls(peer, "public.gazetteer")[:3])
        best = [0.0, 0.0]
        for _ in range(args.rounds):  # alternate, keep each server's best round: bursts of load hit both
            best[0] = max(best[0], _rate(c1, urls(ours, "gazetteer")))
            best[1] = max(best[1], _rate(c2, urls(peer, "public.gazetteer")))
        rows.append((name, best[0], best[1], "/s"))
    tiles = _tiles(args.tiles_per_zoom)
    for coll in ("kelurahan", "poi"):
        mine = [f"{ours}/collections/{coll}/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in tiles]
        theirs = [f"{peer}/collections/public.{coll}/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in tiles]
        cold = (_rate(c1, mine), _rate(c2, theirs))
        warm = (_rate(c1, mine), _rate(c2, theirs))
        rows.append((f"tiles {coll} z10-16 cold, {len(tiles)} tiles (tiles/s)", cold[0], cold[1], "/s"))
        rows.append((f"tiles {coll} z10-16 warm (tiles/s)", warm[0], warm[1], "/s"))
    return rows
