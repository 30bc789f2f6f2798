"""Forward geocoding: top-1 accuracy on tests/geocode_eval.csv (per kind) and queries/s, ours (in process and
over HTTP) vs a plain pg_trgm similarity query over the same gazetteer, in the same run; autocomplete latency.

The eval set runs with the demo's SYNTHETIC street layer `jalan_sintetis` indexed (its `street_only` rows need
it). Then a SYNTHETIC 20,000-street layer (bench/_streets.py) is published and indexed: street-only and
street+area accuracy on it, and queries/s with it loaded, in process and over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import tempfile
import time
from pathlib import Path

from rich.table import Table

from bench import _streets
from bench._common import console, report, scratch_database
from bench._geocode_http import latency, live_app
from geo_api.db import connect, migrate
from geo_api.geocoding import load_geocoder
from geo_api.geocoding.forward import evaluate
from geo_api.settings import Settings
from ingestion.bundled import load_bundled

EVAL = Path(__file__).resolve().parent.parent / "tests" / "geocode_eval.csv"
# The peer: the query one writes first with pg_trgm; desa/kelurahan and kecamatan, best similarity wins.
TRGM = ("SELECT kode, nama, similarity(lower(nama), lower(%(q)s)) AS s FROM gazetteer "
        "WHERE level IN ('desa_kelurahan', 'kecamatan') AND lower(nama) %% lower(%(q)s) "
        "ORDER BY s DESC, kode LIMIT 5")


def _trgm_search(conn):
    def search(q: str) -> dict:
        rows = conn.execute(TRGM, {"q": q}).fetchall()
        return {"candidates": [{"kelurahan": {"kode": r["kode"]}, "kecamatan": None, "kabkota": None}
                               for r in rows]}
    return search


STREETS_20K = "jalan_sintetis_20rb"


def _publish(settings, layer_id: str, title: str, fc: dict | None) -> None:
    """Publish through the layers publish function (the demo roads when fc is None)."""
    import psycopg
    from psycopg.rows import dict_row

    from geo_api import catalogue
    from layers.publish import LayerMeta, Limits, prepare, publish

    async def job():
        async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True) as c:
            with tempfile.TemporaryDirectory(prefix="bench-forward-") as tmp:
                if fc is None:
                    return await catalogue.publish_synthetic_roads(c, settings, Path(tmp))
                src = Path(tmp) / "jalan.geojson"
                src.write_text(json.dumps(fc), encoding="utf-8")
                work = Path(tmp) / "work"
                work.mkdir()
                prep = prepare(src, src.name, work, Limits.from_settings(settings))
                return await publish(c, prep, LayerMeta(id=layer_id, title=title, opd="bench",
                                                        published_by="bench"))
    asyncio.run(job())


def _qps(search, queries: list[str]) -> float:
    t0 = time.perf_counter()
    for q in queries:
        search(q)
    return len(queries) / (time.perf_counter() - t0)


def _kind_table(title: str, ours: dict, peer: dict | None) -> None:
    table = Table(title=title)
    for col in ("kind", "n", "satupeta top-1", "pg_trgm top-1"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for k, (ok, n) in ours.items():
        theirs = f"{100 * peer.get(k, (0, n))[0] / n:.1f} %" if peer is not None else "—"
        table.add_row(k, str(n), f"{100 * ok / n:.1f} %", theirs)
    console.print(table)


def run(argv: list[str]) -> int:
    """Accuracy and throughput of forward search, side by side with pg_trgm."""
    ap = argparse.ArgumentParser(prog="python -m bench forward")
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--streets", type=int, default=20_000, help="size of the SYNTHETIC street gazetteer")
    args = ap.parse_args(argv)
    rows = list(csv.DictReader(open(EVAL, encoding="utf-8")))
    queries = [r["query"] for r in rows]
    with scratch_database(Settings()) as settings:
        migrate(settings)
        with connect(settings, autocommit=True) as conn:
            load_bundled(conn, settings.data_dir)
        _publish(settings, "jalan_sintetis", "", None)
        with connect(settings, autocommit=True) as conn:
            geo = load_geocoder(conn, tolerance_m=30, nearest_max_m=25_000, settings=settings)
            acc, per_kind, misses = evaluate(geo.forward.search, rows)
            peer = _trgm_search(conn)
            peer_acc, peer_kind, _ = evaluate(peer, rows)
            peer_qps = _qps(peer, queries)
        with connect(settings) as conn:  # a cold lookup cache
            geo = load_geocoder(conn, tolerance_m=30, nearest_max_m=25_000, settings=settings)
        ours_qps = _qps(geo.forward.search, queries)

        fc, truth = _streets.build(settings.data_dir, n=args.streets)
        t0 = time.perf_counter()
        _publish(settings, STREETS_20K, "Jalan SINTETIS 20.000 ruas (bench)", fc)
        publish_s = time.perf_counter() - t0
        big = settings.model_copy(update={"geocode_street_layer": STREETS_20K})
        t0 = time.perf_counter()
        with connect(big) as conn:
            geo20 = load_geocoder(conn, tolerance_m=30, nearest_max_m=25_000, settings=big)
        index_s = time.perf_counter() - t0
        street_rows = _streets.queries(truth)
        s_acc, s_kind, s_misses = evaluate(geo20.forward.search, street_rows)
        with connect(big) as conn:  # cold again, for the throughput figure
            geo20 = load_geocoder(conn, tolerance_m=30, nearest_max_m=25_000, settings=big)
        mixed = queries + [r["query"] for r in street_rows]
        ours20_qps = _qps(geo20.forward.search, mixed)

        import httpx

        with live_app(settings) as url:
            httpx.get(url + "/geocode/search", params={"q": "cibodas"}, timeout=60)  # builds the index
            http = latency(url, lambda i: {"q": queries[i % len(queries)]}, args.requests, "/geocode/search",
                           clients=args.clients)
            ac = latency(url, lambda i: {"q": queries[i % len(queries)][: 2 + i % 6]}, args.requests,
                         "/geocode/autocomplete", clients=args.clients)
        with live_app(settings, {"SATUPETA_GEOCODE_STREET_LAYER": STREETS_20K}) as url:
            httpx.get(url + "/geocode/search", params={"q": "cibodas"}, timeout=120)
            http20 = latency(url, lambda i: {"q": mixed[i % len(mixed)]}, args.requests, "/geocode/search",
                             clients=args.clients)
    n_streets = len(geo20.forward.streets) if geo20.forward.streets else 0
    report(f"Forward geocoding, evaluation set of {len(rows):,} queries (demo street layer jalan_sintetis)", [
        ("top-1 accuracy (%)", 100 * acc, 100 * peer_acc, "%"),
        ("queries/s, in process vs pg_trgm query from Python", ours_qps, peer_qps, "q/s"),
        (f"queries/s over HTTP ({args.clients} client threads) vs pg_trgm", http["rps"], peer_qps, "q/s"),
        (f"queries/s in process, SYNTHETIC {n_streets:,}-street gazetteer loaded", ours20_qps, peer_qps, "q/s"),
        (f"queries/s over HTTP, SYNTHETIC {n_streets:,}-street gazetteer", http20["rps"], peer_qps, "q/s"),
    ], peer="pg_trgm similarity")
    _kind_table("Top-1 per kind, evaluation set", per_kind, peer_kind)
    _kind_table(f"Top-1 per kind, SYNTHETIC street layer ({len(fc['features']):,} lines, {n_streets:,} "
                "indexed names; no peer)", s_kind, None)
    console.print(f"SYNTHETIC streets: publish {publish_s:.1f} s, index (SQL cut by kelurahan + build) "
                  f"{index_s:.1f} s; street queries top-1 {100 * s_acc:.1f} %")
    console.print(f"GET /geocode/search: p50 {http['p50_ms']:.2f} ms, p99 {http['p99_ms']:.2f} ms, "
                  f"{http['rps']:,.0f} req/s, statuses {http['codes']}")
    console.print(f"GET /geocode/search (20k streets): p50 {http20['p50_ms']:.2f} ms, p99 {http20['p99_ms']:.2f} "
                  f"ms, {http20['rps']:,.0f} req/s, statuses {http20['codes']}")
    console.print(f"GET /geocode/autocomplete: p50 {ac['p50_ms']:.2f} ms, p99 {ac['p99_ms']:.2f} ms, "
                  f"{ac['rps']:,.0f} req/s, statuses {ac['codes']}")
    if misses:
        console.print(f"our misses ({len(misses)}): {misses[:10]}")
    if s_misses:
        console.print(f"street misses ({len(s_misses)}): {s_misses[:10]}")
    console.print("The machine is shared (2 cores, other work running): throughput figures are noisy.")
    return 0
