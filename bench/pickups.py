"""`python -m bench pickups`: the service record's CPU work beside what it is built on (in-process, no database).

- a day of /fleet/pickups for T trucks (F fixes each) and S scheduled TPS: ours (an R-tree picks the sites a
  truck came near, then visit detection per site, then the jadwal status) against the per-vehicle detection
  it is built on run over every site (as /fleet/visits does);
- a month's on-time report (geo_api.fleet.pickups.report over D days) against D calls of the day's evaluation;
- a truck-month exported as GPX (gpxpy, with waypoints) against GDAL's GPX driver writing the same track points.
The fixes are synthetic (straight legs between TPS with dwells). Figures taken while other work runs are noisy.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from bench._common import report
from geo_api.fleet import exports
from geo_api.fleet import pickups as pk
from ingestion import jadwal as jd
from ingestion import trips as det

WIB = ZoneInfo("Asia/Jakarta")
DAY = date(2026, 3, 2)


def _sites(n: int, rng: random.Random) -> list[det.Site]:
    out = []
    for i in range(n):
        start = 5 * 60 + (i % 12) * 60
        j = f"setiap hari {start // 60:02d}:00-{(start + 120) // 60:02d}:00"
        out.append(det.Site(fid=str(i), nama=f"TPS {i}", jenis="TPS", radius_m=50.0, jadwal=j,
                            geom=shapely.Point(rng.uniform(106.58, 106.72), rng.uniform(-6.26, -6.12))))
    return out


def _truck(sites: list[det.Site], fixes: int, rng: random.Random, t0: float) -> list[dict]:
    """Dwell 30 fixes (10 s apart) at a TPS, drive 70 fixes to the next, over its share of the sites."""
    mine = rng.sample(sites, k=min(len(sites), 14))
    rows, t, k = [], t0, 0
    here = mine[0].geom
    while len(rows) < fixes:
        nxt = mine[k % len(mine)].geom
        k += 1
        for f in np.linspace(0, 1, 70, endpoint=False):
            rows.append({"t": t, "lat": here.y + (nxt.y - here.y) * f, "lon": here.x + (nxt.x - here.x) * f})
            t += 10
        for _ in range(30):
            rows.append({"t": t, "lat": nxt.y + rng.gauss(0, 3e-5), "lon": nxt.x + rng.gauss(0, 3e-5)})
            t += 10
        here = nxt
    return rows[:fixes]


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def _day(cfg, vehicles, tracks, sched, sites):
    index = pk.SiteIndex(sites)
    visits = pk.merge(pk.vehicle_pickups(cfg, v, rows, index) for v, rows in zip(vehicles, tracks, strict=True))
    return pk.day_features(WIB, sched, DAY, visits, datetime(2026, 3, 3, tzinfo=WIB)), visits


def _peer_day(cfg, tracks, sites):
    return sum(len(det.site_visits(analysis_track(rows), sites, cfg)) for rows in tracks)


def analysis_track(rows):
    """A Track from rows, as the API builds it."""
    return det.Track.from_rows([(r["t"], r["lat"], r["lon"]) for r in rows])


def _month_visits(visits: dict[str, list[jd.Pickup]], days: int) -> dict[str, list[jd.Pickup]]:
    return {fid: [jd.Pickup(p.vehicle_id, p.plat_nomor, p.arrival + k * 86400, p.departure and p.departure + k * 86400)
                  for k in range(days) for p in ps] for fid, ps in visits.items()}


def run(argv: list[str]) -> int:
    """Run the benchmark and print its table."""
    ap = argparse.ArgumentParser(prog="python -m bench pickups")
    ap.add_argument("--trucks", type=int, default=300)
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--fixes", type=int, default=7000)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args(argv)
    rng = random.Random(18)
    sites = _sites(args.sites, rng)
    sched = pk.scheduled(sites)
    t0 = datetime(DAY.year, DAY.month, DAY.day, 4, 30, tzinfo=WIB).timestamp()
    vehicles = [{"id": i + 1, "plat_nomor": f"B {9000 + i} BN"} for i in range(args.trucks)]
    tracks = [_truck(sites, args.fixes, rng, t0) for _ in vehicles]
    cfg = det.DetectionConfig()
    ours_day, (features, visits) = _timed(_day, cfg, vehicles, tracks, sched, sites)
    peer_day, peer_visits = _timed(_peer_day, cfg, tracks, sites)
    found = sum(len(v) for v in visits.values())
    assert found == peer_visits, (found, peer_visits)  # the same visits, found faster
    days = [DAY + timedelta(days=k) for k in range(args.days)]
    month = _month_visits(visits, args.days)
    now = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), WIB)
    ours_month, rep = _timed(pk.report, WIB, sched, days, month, now)
    peer_month, _ = _timed(lambda: [pk.day_features(WIB, sched, d, month, now) for d in days])
    # a truck-month: the first truck's day repeated over the days
    base = tracks[0]
    month_rows = [{"t": r["t"] + k * 86400, "lat": r["lat"], "lon": r["lon"]} for k in range(args.days) for r in base]
    lo = datetime.fromtimestamp(month_rows[0]["t"], WIB)
    rec = exports.record(cfg, 300.0, vehicles[0], month_rows, sites, lo, lo + timedelta(days=args.days))
    ours_gpx, body = _timed(exports.to_gpx, rec, WIB)
    peer_gpx = _gdal_gpx(month_rows)
    n = len(month_rows)
    report(f"Si Lacak pickups ({args.trucks} trucks x {args.fixes} fixes, {args.sites} TPS; "
           f"{sum(len(f['properties']['visits']) for f in features)} pickups counted; noisy: shared machine)", [
        (f"/fleet/pickups day ({found} visits)", ours_day, peer_day, "s"),
        (f"on-time report, {args.days} days ({rep['total']['tepat_waktu']} on time)", ours_month, peer_month, "s"),
        (f"GPX export, truck-{args.days}-days ({n:,} points, {len(body):,} bytes)", n / ours_gpx, n / peer_gpx,
         "rows/s"),
    ], peer="per-vehicle detection over every site / per-day evaluation / GDAL GPX driver")
    return 0


def _gdal_gpx(rows: list[dict]) -> float:
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    t = time.perf_counter()
    gdf = gpd.GeoDataFrame({"track_fid": 0, "track_seg_id": 0,
                            "time": pd.to_datetime([r["t"] for r in rows], unit="s", utc=True)},
                           geometry=shapely.points([r["lon"] for r in rows], [r["lat"] for r in rows]), crs=4326)
    with tempfile.TemporaryDirectory() as tmp:
        pyogrio.write_dataframe(gdf, Path(tmp) / "peer.gpx", layer="track_points", driver="GPX")
    return time.perf_counter() - t
