"""Bundled-data load: our checked, staged, atomic load (first and forced reload) vs geopandas.to_postgis."""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import pandas as pd
from sqlalchemy import create_engine

from bench._common import console, report, scratch_database
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from ingestion.bundled import BUNDLED, load_bundled


def _ours(settings: Settings, *, force: bool) -> float:
    t0 = time.perf_counter()
    with connect(settings) as conn:
        load_bundled(conn, settings.data_dir, force=force)
    return time.perf_counter() - t0


def _geopandas(settings: Settings) -> float:
    """The peer: read each file with geopandas/pandas and write it with to_postgis / to_sql (no checks)."""
    engine = create_engine(settings.sqlalchemy_url())
    t0 = time.perf_counter()
    for spec in BUNDLED:
        path = settings.data_dir / spec.file
        if spec.is_csv:
            pd.read_csv(path, dtype=str).to_sql(f"peer_{spec.table}", engine, if_exists="replace", index=False)
        else:
            gpd.read_file(path).to_postgis(f"peer_{spec.table}", engine, if_exists="replace", index=False)
    engine.dispose()
    return time.perf_counter() - t0


def run(argv: list[str]) -> int:
    """Time a full load, a forced reload and an unchanged reload; geopandas.to_postgis as the peer."""
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    settings = Settings()
    firsts, reloads, noops, peers = [], [], [], []
    for _ in range(args.repeat):
        with scratch_database(settings) as scratch:
            migrate(scratch)
            firsts.append(_ours(scratch, force=False))
            reloads.append(_ours(scratch, force=True))
            noops.append(_ours(scratch, force=False))
            peers.append(_geopandas(scratch))
    best = min
    report("Bundled data load (8 layers, 3,167 features/rows), best of %d" % args.repeat, [
        ("first load (checked, staged, swapped)", best(firsts), best(peers), "s"),
        ("forced reload of every layer", best(reloads), best(peers), "s"),
        ("reload with nothing changed (checksums)", best(noops), best(peers), "s"),
    ], peer="geopandas.to_postgis")
    console.print("ratio > 1: ours is faster than the peer writing the same files without checks")
    return 0
