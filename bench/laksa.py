"""LAKSA end to end over real HTTP (issue 16).

Part `foto`: POST requests.json with one ~2 MB phone-sized JPEG (multipart `media`: decoded, re-encoded without
metadata, thumbnailed, written content-addressed) against the same POST without a photo, on the same server in
the same run (p50/p99 latency, requests per second). Every photo differs in its pixels, so every request really
decodes, encodes and writes (no content-address shortcut).

Part `umpan`: the mySociety updates feed (GET servicerequestupdates.json) over `--feed-reports` laporan with 5
history events each (SYNTHETIC rows written straight into the scratch database), first page latency against GET
requests.json over the same window on the same server (the spec's own list, the closest peer a poller has).

`--parts` picks which run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from bench._common import console, free_port, http_load, pct, prepare_city, report, scratch_database
from geo_api.db import connect
from geo_api.settings import Settings

POINT = {"lat": "-6.18994", "long": "106.62483"}  # Kelurahan Karawaci


# ---------------------------------------------------------------------------------------------------- setup
def _prepare(scratch: Settings) -> str:
    """Migrate and load the scratch database, set up the catalogue; a citizen_app key."""
    return prepare_city(scratch, "bench-laksa")


class Server:
    """`uvicorn geo_api.app:create_app` as its own process on the scratch database (1 worker)."""

    def __init__(self, scratch: Settings, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": scratch.dsn, "SATUPETA_LOG_LEVEL": "warning",
                    "SATUPETA_RATELIMIT_ENABLED": "false", **env}

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "geo_api.app:create_app", "--factory",
                                      "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                                      "--no-access-log"], env=self.env)
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError("server did not start")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


# ---------------------------------------------------------------------------------------------------- photos
def phone_photos(n: int, target_bytes: int, size: tuple[int, int], seed: int = 16) -> list[bytes]:
    """n different JPEGs of about target_bytes each, phone-shaped (smooth noise, EXIF with GPS): the pixels of
    each differ, so the server cannot skip any write."""
    from PIL import Image, ImageFilter

    rnd = random.Random(seed)
    w, h = size
    base = Image.frombytes("RGB", (w // 8, h // 8), rnd.randbytes((w // 8) * (h // 8) * 3)).resize(
        size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1))
    grain = Image.frombytes("RGB", size, rnd.randbytes(w * h * 3))
    base = Image.blend(base, grain, 0.12)
    exif = Image.Exif()
    exif[0x010F] = "SINTETIS"
    exif[0x8825] = {1: "S", 2: (6.0, 11.0, 23.8), 3: "E", 4: (106.0, 37.0, 29.4)}

    def encode(im, q: int) -> bytes:
        out = io.BytesIO()
        im.save(out, "JPEG", quality=q, exif=exif)
        return out.getvalue()
    quality = 95
    while quality > 40 and len(encode(base, quality)) > target_bytes:
        quality -= 3
    photos = []
    for i in range(n):
        im = base.copy()
        im.paste((rnd.randrange(256), rnd.randrange(256), i % 256), (8 * (i % 50), 8 * (i // 50), 8 * (i % 50) + 64,
                                                                    8 * (i // 50) + 64))
        photos.append(encode(im, quality))
    return photos


def part_foto(scratch: Settings, key: str, args: argparse.Namespace) -> None:
    """POST with one ~2 MB photo vs POST without, same server, same run."""
    n, clients = args.photo_requests, args.clients
    size = tuple(int(x) for x in args.photo_size.split("x"))
    t0 = time.perf_counter()
    photos = phone_photos(n + 2, args.photo_bytes, size)
    console.print(f"made {len(photos)} JPEGs of {statistics.fmean(map(len, photos)) / 1e6:.2f} MB "
                  f"({size[0]}x{size[1]}) in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory(prefix="satupeta-bench-media-") as media_dir, \
            Server(scratch, SATUPETA_MEDIA_DIR=media_dir) as srv:
        def form(i: int) -> dict[str, str]:
            return {"api_key": key, "service_code": "sampah_menumpuk", **POINT, "description": f"bench foto {i}"}

        def with_photo(c: httpx.AsyncClient, i: int):
            return c.post("/open311/v2/requests.json", data=form(i),
                          files=[("media", (f"IMG_{i:04d}.jpg", photos[i], "image/jpeg"))])

        def without(c: httpx.AsyncClient, i: int):
            return c.post("/open311/v2/requests.json", data=form(i))
        asyncio.run(http_load(srv.url, 2, 1, lambda c, i: with_photo(c, n + i)))  # warm-up: geocoder, rule cache
        asyncio.run(http_load(srv.url, 10, 2, without))
        ours, ours_wall = asyncio.run(http_load(srv.url, n, clients, with_photo))
        peer, peer_wall = asyncio.run(http_load(srv.url, n, clients, without))
        stored = sum(1 for p in Path(media_dir).rglob("*") if p.is_file())
    report(f"POST requests.json over real HTTP: {n} requests, {clients} concurrent clients, 1 uvicorn worker, "
           f"{args.photo_bytes / 1e6:.1f} MB photo", [
               ("POST with 1 photo p50", pct(ours, 50), pct(peer, 50), "s"),
               ("POST with 1 photo p99", pct(ours, 99), pct(peer, 99), "s"),
               ("POST with 1 photo mean", statistics.fmean(ours), statistics.fmean(peer), "s"),
               ("requests per second", n / ours_wall, n / peer_wall, "/s"),
           ], peer="POST without photo")
    console.print(f"files stored: {stored} (photo + thumbnail per request, warm-up included)")


# ---------------------------------------------------------------------------------------------------- updates feed
SEED_FEED = """
WITH o AS (SELECT kode FROM opd WHERE kode = 'dlh'),
ins AS (
    INSERT INTO laporan (layanan_kode, deskripsi, lat, lon, geom, opd_kode, keputusan, alasan, alasan_teks,
                         requested_at, updated_at, tahap_mulai)
    SELECT 'sampah_menumpuk', 'SINTETIS bench umpan ' || g, -6.19 + mod(g, 100) * 1e-4,
           106.62 + mod(g / 100, 100) * 1e-4,
           ST_SetSRID(ST_MakePoint(106.62 + mod(g / 100, 100) * 1e-4, -6.19 + mod(g, 100) * 1e-4), 4326), o.kode,
           'aturan', '{}'::jsonb, 'SINTETIS', now() - interval '20 hours' + g * (interval '10 hours' / %(n)s),
           now(), now() - interval '20 hours'
    FROM generate_series(1, %(n)s) AS g, o
    RETURNING id, requested_at
)
INSERT INTO laporan_status (laporan_id, status, jenis, catatan, oleh, opd_kode, pada)
SELECT ins.id, (ARRAY['open', 'investigating', 'action_scheduled', 'in_progress', 'fixed'])[k],
       CASE WHEN k = 1 THEN 'diterima' ELSE 'status' END, 'Catatan publik SINTETIS ' || k, 'bench', 'dlh',
       ins.requested_at + (k - 1) * interval '1 hour'
FROM ins, generate_series(1, 5) AS k
"""


def part_umpan(scratch: Settings, key: str, args: argparse.Namespace) -> None:
    """First page of the updates feed over N laporan x 5 updates vs GET requests.json over the same window."""
    n, reps = args.feed_reports, args.feed_repeats
    t0 = time.perf_counter()
    with connect(scratch) as conn:
        conn.execute(SEED_FEED, {"n": n})
        conn.execute("ANALYZE laporan; ANALYZE laporan_status")
        conn.commit()
        events = conn.execute("SELECT count(*) AS n FROM laporan_status").fetchone()["n"]
    console.print(f"seeded {n} laporan with 5 updates each ({events} history rows) in {time.perf_counter() - t0:.1f} s")
    with Server(scratch, SATUPETA_LAKSA_TIMER_SECONDS="0") as srv:
        now = datetime.now(timezone.utc)
        window = {"start_date": (now - timedelta(hours=21)).isoformat(), "end_date": now.isoformat()}

        def feed(c: httpx.AsyncClient, i: int):
            return c.get("/open311/v2/servicerequestupdates.json", params=window)

        def requests_list(c: httpx.AsyncClient, i: int):
            return c.get("/open311/v2/requests.json", params=window)
        asyncio.run(http_load(srv.url, 3, 1, feed))
        asyncio.run(http_load(srv.url, 3, 1, requests_list))
        ours, _ = asyncio.run(http_load(srv.url, reps, 1, feed))
        peer, _ = asyncio.run(http_load(srv.url, reps, 1, requests_list))
        page = httpx.get(f"{srv.url}/open311/v2/servicerequestupdates.json", params=window, timeout=60).json()
        listed = httpx.get(f"{srv.url}/open311/v2/requests.json", params=window, timeout=60).json()
    report(f"First page over real HTTP, 1 client, {reps} requests each: {n} laporan x 5 updates; feed page "
           f"{len(page)} updates, requests.json {len(listed)} requests", [
               ("first page p50", pct(ours, 50), pct(peer, 50), "s"),
               ("first page p99", pct(ours, 99), pct(peer, 99), "s"),
           ], peer="GET requests.json, same window")


# ---------------------------------------------------------------------------------------------------- main
PARTS: dict[str, Callable[[Settings, str, argparse.Namespace], None]] = {"foto": part_foto, "umpan": part_umpan}


def run(argv: list[str]) -> int:
    """The LAKSA benchmark parts (see the module docstring) on one scratch database."""
    parser = argparse.ArgumentParser(prog="python -m bench laksa")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--photo-requests", type=int, default=60, help="POSTs with a photo (and as many without)")
    parser.add_argument("--photo-bytes", type=int, default=2_000_000, help="target size of each JPEG")
    parser.add_argument("--photo-size", default="4032x3024", help="pixels of each JPEG (a 12 MP phone photo)")
    parser.add_argument("--feed-reports", type=int, default=100_000, help="laporan in the updates feed (5 each)")
    parser.add_argument("--feed-repeats", type=int, default=30, help="first-page requests measured per endpoint")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; one of {', '.join(PARTS)}")
    with scratch_database(Settings()) as scratch:
        key = _prepare(scratch)
        for name in parts:
            PARTS[name](scratch, key, args)
    console.print("Machine shared with other engineers (2 cores): figures are noisy.")
    return 0
