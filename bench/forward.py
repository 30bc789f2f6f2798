"""Forward geocoding: top-1 accuracy on tests/geocode_eval.csv and queries/s, ours (in process and over HTTP)
vs a plain pg_trgm similarity query over the same gazetteer, in the same run; autocomplete latency."""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

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


def run(argv: list[str]) -> int:
    """Accuracy and throughput of forward search, side by side with pg_trgm."""
    ap = argparse.ArgumentParser(prog="python -m bench forward")
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args(argv)
    rows = list(csv.DictReader(open(EVAL, encoding="utf-8")))
    queries = [r["query"] for r in rows]
    with scratch_database(Settings()) as settings:
        migrate(settings)
        with connect(settings, autocommit=True) as conn:
            load_bundled(conn, settings.data_dir)
            geo = load_geocoder(conn, tolerance_m=30, nearest_max_m=25_000)
            acc, per_kind, misses = evaluate(geo.forward.search, rows)
            peer = _trgm_search(conn)
            peer_acc, peer_kind, _ = evaluate(peer, rows)
            t0 = time.perf_counter()
            for q in queries:
                peer(q)
            peer_qps = len(queries) / (time.perf_counter() - t0)
        geo = load_geocoder(connect(settings), tolerance_m=30, nearest_max_m=25_000)  # a cold lookup cache
        t0 = time.perf_counter()
        for q in queries:
            geo.forward.search(q)
        ours_qps = len(queries) / (time.perf_counter() - t0)
        with live_app(settings) as url:
            import httpx

            httpx.get(url + "/geocode/search", params={"q": "cibodas"}, timeout=60)  # builds the index
            http = latency(url, lambda i: {"q": queries[i % len(queries)]}, args.requests, "/geocode/search",
                           clients=args.clients)
            ac = latency(url, lambda i: {"q": queries[i % len(queries)][: 2 + i % 6]}, args.requests,
                         "/geocode/autocomplete", clients=args.clients)
    report(f"Forward geocoding, evaluation set of {len(rows):,} queries", [
        ("top-1 accuracy (%)", 100 * acc, 100 * peer_acc, "%"),
        ("queries/s, in process vs pg_trgm query from Python", ours_qps, peer_qps, "q/s"),
        (f"queries/s over HTTP ({args.clients} client threads) vs pg_trgm", http["rps"], peer_qps, "q/s"),
    ], peer="pg_trgm similarity")
    console.print("per kind (ours / pg_trgm): " + ", ".join(
        f"{k} {v[0]}/{v[1]} vs {peer_kind.get(k, (0, 0))[0]}" for k, v in per_kind.items()))
    console.print(f"GET /geocode/search: p50 {http['p50_ms']:.2f} ms, p99 {http['p99_ms']:.2f} ms, "
                  f"{http['rps']:,.0f} req/s, statuses {http['codes']}")
    console.print(f"GET /geocode/autocomplete: p50 {ac['p50_ms']:.2f} ms, p99 {ac['p99_ms']:.2f} ms, "
                  f"{ac['rps']:,.0f} req/s, statuses {ac['codes']}")
    if misses:
        console.print(f"our misses ({len(misses)}): {misses[:10]}")
    return 0
