"""Laporan warga map at 1k, 10k and 100k SYNTHETIC laporan: HTML size, build time and time-to-rendered in
headless Chromium, against a naive folium map with one marker (and popup) per laporan, in the same run.

    python -m bench maps [--sizes 1000,10000,100000] [--peer-timeout 180]

The laporan are synthetic (random points around kelurahan centres, 12 synthetic OPDs); nothing here is real.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import shutil
import tempfile
import time
from pathlib import Path

import folium
import psycopg
from psycopg.rows import dict_row
from rich.table import Table

from bench._common import console, report, scratch_database
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from ingestion.bundled import load_bundled
from maps.assets import copy_static, localise
from maps.base import MapOptions
from maps.data import load_base
from maps.laporan import LaporanFilter, build_laporan_map, load_laporan

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
N_OPD = 12


def _seed(conn: psycopg.Connection, n: int, rng: random.Random) -> None:
    """Replace all laporan with n synthetic ones (COPY), spread around the kelurahan."""
    conn.execute("TRUNCATE laporan_status, laporan RESTART IDENTITY CASCADE")
    conn.execute("INSERT INTO layanan (kode, nama) VALUES ('sintetis', 'Sintetis (bench)') ON CONFLICT DO NOTHING")
    for i in range(N_OPD):
        conn.execute("INSERT INTO opd (kode, nama, jenis) VALUES (%s, %s, 'dinas') ON CONFLICT DO NOTHING",
                     (f"sintetis-{i}", f"OPD sintetis {i + 1}"))
    kel = conn.execute("SELECT kode, kec_kode, ST_Y(ST_PointOnSurface(geom)) AS lat, "
                       "ST_X(ST_PointOnSurface(geom)) AS lon FROM kelurahan").fetchall()
    buf = io.StringIO()
    for i in range(n):
        k = rng.choice(kel)
        lat, lon = k["lat"] + rng.gauss(0, 0.004), k["lon"] + rng.gauss(0, 0.004)
        status = rng.choice(("open", "in_progress", "closed"))
        opd = f"sintetis-{min(N_OPD - 1, int(rng.expovariate(0.3)))}"
        buf.write(f"sintetis\t{status}\tLaporan sintetis {i}\t{lat}\t{lon}\tSRID=4326;POINT({lon} {lat})\t{opd}\t"
                  f"aturan\t{{}}\tDiarahkan ke {opd} (aturan sintetis).\t{k['kode']}\t{k['kec_kode']}\t36.71\n")
    with conn.cursor().copy("COPY laporan (layanan_kode, status, deskripsi, lat, lon, geom, opd_kode, keputusan, "
                            "alasan, alasan_teks, kelurahan_kode, kecamatan_kode, kabkota_kode) FROM STDIN") as cp:
        cp.write(buf.getvalue())
    conn.commit()
    conn.execute("ANALYZE laporan")


async def _ours(settings: Settings, out: Path) -> float:
    async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True) as conn:
        t0 = time.perf_counter()
        base = await load_base(conn)
        data = await load_laporan(conn, LaporanFilter(), settings.maps_inline_reports)
        html = build_laporan_map(base, data, LaporanFilter(), MapOptions(asset_base="static/", api_base=None))
        elapsed = time.perf_counter() - t0
    out.write_text(html, encoding="utf-8")
    return elapsed


def _peer(settings: Settings, out: Path) -> float:
    """The naive map: folium.Map + one CircleMarker with a popup per laporan (assets made local, for fairness)."""
    with connect(settings) as conn:
        t0 = time.perf_counter()
        rows = conn.execute("SELECT id, lat, lon, opd_kode, deskripsi, alasan_teks FROM laporan").fetchall()
        m = folium.Map(location=[-6.18, 106.64], zoom_start=12, tiles=None)
        for r in rows:
            folium.CircleMarker([r["lat"], r["lon"]], radius=4,
                                popup=folium.Popup(f"#{r['id']} {r['opd_kode']}: {r['deskripsi']}")).add_to(m)
        localise(m.get_root(), "static/")
        html = m.get_root().render()
        elapsed = time.perf_counter() - t0
    out.write_text(html, encoding="utf-8")
    return elapsed


def _render_time(ctx, path: Path, ready: str, timeout_s: float) -> float:
    """Seconds from navigation to the page's map drawn (ready condition, then two animation frames)."""
    page = ctx.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load", timeout=timeout_s * 1000)
        page.wait_for_function(ready, timeout=timeout_s * 1000)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return time.perf_counter() - t0
    except Exception:  # playwright TimeoutError: the peer did not render in time
        return float("inf")
    finally:
        page.close()


def run(argv: list[str]) -> int:
    """Seed synthetic laporan at each size, build both maps, time them in headless Chromium, print tables."""
    ap = argparse.ArgumentParser(prog="python -m bench maps")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--peer-timeout", type=float, default=180.0)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    chromium = shutil.which("chromium")
    if not chromium:
        console.print("chromium is not installed (make system installs it)")
        return 2
    from playwright.sync_api import sync_playwright

    rng = random.Random(8)
    times, sizes_rows = [], []
    with scratch_database(Settings()) as settings, tempfile.TemporaryDirectory() as tmp:
        migrate(settings)
        with connect(settings) as conn:
            load_bundled(conn, settings.data_dir)
        work = Path(tmp)
        copy_static(work)
        warm = work / "warm.html"
        asyncio.run(_ours(settings, warm))  # imports and first-query costs stay out of the figures
        built = []
        for n in sizes:  # build every page first: playwright's sync API then owns the event loop
            with connect(settings) as conn:
                _seed(conn, n, rng)
            ours_html, peer_html = work / f"ours_{n}.html", work / f"peer_{n}.html"
            built.append((n, ours_html, peer_html, asyncio.run(_ours(settings, ours_html)),
                          _peer(settings, peer_html)))
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(str(work / "profile"), executable_path=chromium,
                                                        headless=True, args=FLAGS)
            _render_time(ctx, warm, "window.SP && SP.ready === true", args.peer_timeout)  # cold start
            for n, ours_html, peer_html, ours_build, peer_build in built:
                ours_render = _render_time(ctx, ours_html, "window.SP && SP.ready === true", args.peer_timeout)
                peer_render = _render_time(ctx, peer_html, "document.readyState === 'complete'", args.peer_timeout)
                label = f"{n:,} synthetic laporan"
                times.append((f"{label}: build HTML", ours_build, peer_build, "s"))
                times.append((f"{label}: open in Chromium" + (" (peer timed out)" if peer_render == float("inf")
                                                              else ""), ours_render,
                              min(peer_render, args.peer_timeout), "s"))
                sizes_rows.append((label, ours_html.stat().st_size / 1e6, peer_html.stat().st_size / 1e6))
            ctx.close()
    report("Laporan map: time (lower is better; ratio = peer/ours)", times, peer="naive folium (1 marker each)")
    table = Table(title="Laporan map: HTML size (ratio = peer/ours)")
    for col in ("workload", "satupeta", "naive folium (1 marker each)", "ratio"):
        table.add_column(col, justify="left" if col == "workload" else "right")
    for label, ours, theirs in sizes_rows:
        table.add_row(label, f"{ours:,.2f} MB", f"{theirs:,.2f} MB", f"{theirs / ours:.1f}x")
    console.print(table)
    console.print("Synthetic data; 2 shared cores: timings are noisy while others work.")
    return 0
