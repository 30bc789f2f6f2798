"""WMS/WFS at /ows: ours (the app with MapServer 8 workers) vs QGIS Server 3.22, same PostGIS tables, same run.

Workloads: GetMap PNG 256x256 and 1024x768 of kelurahan (104 polygons) and of a published layer of N points
(100,000 by default), WFS 1.1.0 GetFeature of 100 and 1,000 kelurahan/points (GML 3.1.1: QGIS Server 3.22 has no
WFS 2.0), at 1 and 16 concurrent clients: requests/s and p50/p99 latency. Equivalent styles: our "standar"
(pale fill and outline, small circles) and the same symbols in the QGIS project.

Both engines get 2 processes (ows_workers=2 for ours behind one uvicorn process; two pre-forked QGIS Server
processes). The QGIS peer closes each connection (HTTP/1.0) so a keep-alive client cannot hold a process; ours
keeps connections alive. GetMap boxes move over the city from request to request (no engine caches a result).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench._common import console, report, scratch_database
from bench.ogc import _port, _server
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from ingestion.bundled import load_bundled

PEER = Path(__file__).with_name("_qgis_peer.py")
CITY = (106.58, -6.28, 106.73, -6.12)


def _points_file(n: int, folder: Path) -> Path:
    """A GeoPackage of n SYNTHETIC points over the city (seeded)."""
    import geopandas as gpd
    import numpy as np

    rng = np.random.default_rng(15)
    lon = rng.uniform(CITY[0], CITY[2], n)
    lat = rng.uniform(CITY[1], CITY[3], n)
    gdf = gpd.GeoDataFrame({"nama": [f"Titik SINTETIS {i}" for i in range(n)], "nilai": rng.integers(0, 100, n)},
                           geometry=gpd.points_from_xy(lon, lat), crs=4326)
    path = folder / "titik_bench.gpkg"
    gdf.to_file(path, driver="GPKG", engine="pyogrio")
    return path


def _publish(scratch: Settings, path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": scratch.dsn}
    r = subprocess.run([sys.executable, "-m", "geo_api.cli", "layers", "publish", str(path), "--id", "titik_bench",
                        "--title", "Titik SINTETIS (bench)", "--opd", "Bench"], capture_output=True, text=True,
                       env=env, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"publishing the bench layer failed: {r.stderr[-1000:]}")


@contextmanager
def _qgis(scratch: Settings, procs: int):
    """QGIS Server over the scratch database on a free port; yields its base URL."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(scratch.dsn)
    port = _port()
    with tempfile.TemporaryDirectory(prefix="satupeta-qgis-") as folder:
        os.chmod(folder, 0o700)
        env = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "HOME": folder, "LANG": "C.UTF-8",
               "QGIS_SERVER_LOG_LEVEL": "2", "QGIS_SERVER_PARALLEL_RENDERING": "false"}
        proc = subprocess.Popen(["/usr/bin/python3", str(PEER), str(port), str(procs), folder,
                                 info.get("host", "127.0.0.1"), str(info.get("port", 5432)), info["dbname"],
                                 info.get("user", "postgres")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
            if "READY" not in line:
                raise RuntimeError(f"QGIS Server did not start ({proc.poll()})")
            yield f"http://127.0.0.1:{port}/ows"
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)


def _boxes(rng: random.Random, n: int, aspect: float) -> list[tuple[float, float, float, float]]:
    """n lon/lat boxes, 0.04-0.12 degrees wide, inside the city."""
    out = []
    for _ in range(n):
        w = rng.uniform(0.04, 0.12)
        h = w / aspect
        x0 = rng.uniform(CITY[0], CITY[2] - w)
        y0 = rng.uniform(CITY[1], CITY[3] - h)
        out.append((x0, y0, x0 + w, y0 + h))
    return out


def _getmap(base: str, layer: str, style: str, box, w: int, h: int) -> str:
    bbox = f"{box[1]},{box[0]},{box[3]},{box[2]}"  # WMS 1.3.0 EPSG:4326: lat,lon
    return (f"{base}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={layer}&STYLES={style}&CRS=EPSG:4326"
            f"&BBOX={bbox}&WIDTH={w}&HEIGHT={h}&FORMAT=image/png")


def _getfeature(base: str, layer: str, count: int, start: int) -> str:
    return (f"{base}?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetFeature&TYPENAME={layer}&MAXFEATURES={count}"
            f"&STARTINDEX={start}")


async def _load(urls: list[str], clients: int, expect: str) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of the URLs over `clients` concurrent clients; every answer must be `expect`."""
    queue = list(reversed(urls))
    times: list[float] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            url = queue.pop()
            t0 = time.perf_counter()
            try:
                r = await client.get(url)
            except httpx.HTTPError as exc:
                raise RuntimeError(f"{url[:160]}: {type(exc).__name__}") from None
            times.append(time.perf_counter() - t0)
            if r.status_code != 200 or expect not in r.headers.get("content-type", ""):
                raise RuntimeError(f"{url[:160]}: {r.status_code} {r.headers.get('content-type')} {r.text[:200]}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - t0
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return len(urls) / wall, statistics.median(times) * 1000, p99 * 1000


def _workloads(args, points: int) -> list[tuple[str, str, callable]]:
    rng = random.Random(15)
    out = []
    for layer, label in (("kelurahan", "kelurahan"), ("titik_bench", f"{points:,} points")):
        for w, h in ((256, 256), (1024, 768)):
            boxes = _boxes(rng, args.requests, w / h)
            out.append((f"GetMap {w}x{h} {label}", "image/png",
                        lambda base, style, L=layer, B=boxes, W=w, H=h: [_getmap(base, L, style, b, W, H)
                                                                        for b in B]))
    for layer, label in (("kelurahan", "kelurahan"), ("titik_bench", "points")):
        for count in (100, 1000):
            if layer == "kelurahan" and count > 104:
                continue
            starts = [rng.randrange(0, max(1, (104 if layer == "kelurahan" else points) - count))
                      for _ in range(args.requests)]
            if layer == "kelurahan":
                starts = [0] * args.requests
            out.append((f"WFS GetFeature {min(count, 104) if layer == 'kelurahan' else count} {label}", "xml",
                        lambda base, style, L=layer, C=count, S=starts: [_getfeature(base, L, C, s) for s in S]))
    return out


def run(argv: list[str]) -> int:
    """Serve one scratch database with both engines and print rates and latencies side by side."""
    p = argparse.ArgumentParser(prog="python -m bench ows")
    p.add_argument("--points", type=int, default=100_000, help="features of the published point layer")
    p.add_argument("--requests", type=int, default=60, help="requests per workload and concurrency")
    p.add_argument("--clients", default="1,16", help="concurrency levels")
    args = p.parse_args(argv)
    if not Path("/usr/lib/python3/dist-packages/qgis/server").exists() or shutil.which("mapserv") is None and \
            not Path("/usr/lib/python3/dist-packages/mapscript").exists():
        console.print("bench ows needs python3-qgis + qgis-server and python3-mapscript (make bench-system)")
        return 1
    settings = Settings()
    levels = [int(c) for c in args.clients.split(",")]
    with scratch_database(settings) as scratch, tempfile.TemporaryDirectory(prefix="satupeta-bench-ows-") as tmp:
        migrate(scratch)
        with connect(scratch) as conn:
            load_bundled(conn, scratch.data_dir)
        _publish(scratch, _points_file(args.points, Path(tmp)))
        ours_env = {"DATABASE_URL": scratch.dsn, "SATUPETA_LOG_LEVEL": "warning", "SATUPETA_OWS_WORKERS": "2"}
        with _server(["geo_api.app:create_app", "--factory"], ours_env, "/ows?SERVICE=WMS&REQUEST=GetCapabilities") \
                as ours, _qgis(scratch, 2) as peer:
            rows = asyncio.run(_measure(args, levels, ours + "/ows", peer))
    report(f"WMS/WFS: ours (MapServer 8 via /ows) vs QGIS Server 3.22, same PostGIS, {args.requests} requests "
           "per cell", rows, peer="QGIS Server")
    load = os.getloadavg()
    console.print(f"ratio > 1: ours is faster (req/s: ours/peer; latency: peer/ours). Load average {load[0]:.1f} "
                  f"{load[1]:.1f} on {os.cpu_count()} cores: figures are noisy on this shared machine.")
    return 0


async def _measure(args, levels: list[int], ours: str, peer: str) -> list[tuple]:
    rows = []
    for name, expect, urls in _workloads(args, args.points):
        await _load(urls(ours, "standar")[:3], 1, expect)  # warm both (connections, map, project)
        await _load(urls(peer, "")[:3], 1, expect)
        for clients in levels:
            mine = await _load(urls(ours, "standar"), clients, expect)
            theirs = await _load(urls(peer, ""), clients, expect)
            rows.append((f"{name}, {clients} client(s) req/s", mine[0], theirs[0], "/s"))
            rows.append((f"{name}, {clients} client(s) p50 latency", mine[1] / 1000, theirs[1] / 1000, "s"))
            rows.append((f"{name}, {clients} client(s) p99 latency", mine[2] / 1000, theirs[2] / 1000, "s"))
    return rows
