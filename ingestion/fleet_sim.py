"""Fleet simulator: plausible garbage trucks (depot → TPS stops → TPA → depot) sending real OsmAnd requests.

Everything here is SYNTHETIC: the disposal sites are generated from kelurahan label points (a TPS per
kelurahan) plus an approximate TPA Rawa Kucing point (lon 106.6305, lat -6.1395, Kel. Kedaung Wetan,
Kec. Neglasari — approximate, not surveyed). Trucks drive straight lines between stops (no road network)
at urban speeds with a few metres of GPS noise. The plan (every stop with its site, arrival and departure)
is the ground truth that tests and benchmarks check detection against.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingestion.fix_filters import haversine_m

log = logging.getLogger("satupeta.fleet.sim")

TPA_RAWA_KUCING = (-6.1395, 106.6305)  # lat, lon — approximate
SYNTHETIC_NOTE = "SINTETIS: lokasi buatan simulator Si Lacak, bukan data resmi DLH"


@dataclass(slots=True)
class SiteSpec:
    """A synthetic disposal site (a point; geofence radius by jenis)."""

    nama: str
    jenis: str
    lat: float
    lon: float
    kelurahan_kode: str | None = None
    kecamatan_kode: str | None = None


@dataclass(slots=True)
class PlannedStop:
    """A stop the truck is planned to make: where (site or depot) and when."""

    kind: str  # TPS | TPA | depot
    nama: str
    lat: float
    lon: float
    arrival: float
    departure: float


@dataclass(slots=True)
class TruckPlan:
    """One truck's identity, planned stops and the fixes it will send (t, lat, lon, speed_kn, course)."""

    unique_id: str
    plat_nomor: str
    jenis: str
    kecamatan_kode: str
    depot: tuple[float, float]
    stops: list[PlannedStop] = field(default_factory=list)
    fixes: list[tuple[float, float, float, float, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ground truth without the fixes."""
        d = asdict(self)
        d.pop("fixes")
        return d


def synthetic_sites(kelurahan: Sequence[dict[str, Any]]) -> list[SiteSpec]:
    """A TPS at each kelurahan's label point (nudged 120 m north-east) and the TPA Rawa Kucing point."""
    sites = []
    for k in kelurahan:
        if k.get("label_lat") is None:
            continue
        sites.append(SiteSpec(f"TPS {k['nama']}", "TPS", k["label_lat"] + 0.0008, k["label_lon"] + 0.0008,
                              k["kode"], k.get("kec_kode")))
    sites.append(SiteSpec("TPA Rawa Kucing", "TPA", *TPA_RAWA_KUCING, None, "36.71.11"))
    return sites


def sites_geojson(sites: Sequence[SiteSpec]) -> dict[str, Any]:
    """The synthetic sites as a GeoJSON FeatureCollection, labelled synthetic in every feature."""
    return {
        "type": "FeatureCollection",
        "name": "lokasi_tps_tpa_sintetis",
        "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(s.lon, 6), round(s.lat, 6)]},
            "properties": {"nama": s.nama, "jenis": s.jenis, "kelurahan_kode": s.kelurahan_kode,
                           "kecamatan_kode": s.kecamatan_kode, "sumber": SYNTHETIC_NOTE},
        } for s in sites],
    }


def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    y = math.sin(math.radians(lon2 - lon1)) * math.cos(math.radians(lat2))
    x = (math.cos(math.radians(lat1)) * math.sin(math.radians(lat2))
         - math.sin(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.cos(math.radians(lon2 - lon1)))
    return (math.degrees(math.atan2(y, x)) + 360) % 360


class _Driver:
    """Builds one truck's fixes: dwell at a point, drive straight to the next, one fix every `interval` s."""

    def __init__(self, plan: TruckPlan, t: float, interval: float, rng: random.Random, noise_m: float):
        self.plan, self.t, self.interval, self.rng, self.noise_m = plan, t, interval, rng, noise_m
        self.lat, self.lon = plan.depot

    def _emit(self, lat: float, lon: float, speed_kn: float, course: float) -> None:
        n = self.noise_m
        dlat = self.rng.gauss(0, n) / 110_574.0
        dlon = self.rng.gauss(0, n) / (111_320.0 * math.cos(math.radians(lat)))
        self.plan.fixes.append((round(self.t, 3), lat + dlat, lon + dlon, round(speed_kn, 2), round(course, 1)))

    def dwell(self, kind: str, nama: str, seconds: float) -> None:
        """Stand still at the current point for `seconds`, sending fixes."""
        arrival = self.t
        end = self.t + seconds
        while self.t < end:
            self._emit(self.lat, self.lon, 0.0, 0.0)
            self.t += self.interval
        self.plan.stops.append(PlannedStop(kind, nama, self.lat, self.lon, arrival, self.t - self.interval))

    def drive(self, lat: float, lon: float, kmh: float) -> None:
        """Drive in a straight line to (lat, lon) at about kmh."""
        dist = haversine_m(self.lat, self.lon, lat, lon)
        course = _bearing(self.lat, self.lon, lat, lon)
        speed = kmh / 3.6
        steps = max(1, int(dist / (speed * self.interval)))
        lat0, lon0 = self.lat, self.lon
        for k in range(1, steps + 1):
            f = k / steps
            self.t += self.interval
            v = speed * self.rng.uniform(0.8, 1.2)
            self._emit(lat0 + (lat - lat0) * f, lon0 + (lon - lon0) * f, v * 1.943844, course)
        self.lat, self.lon = lat, lon
        self.t += self.interval


def plan_truck(idx: int, kecamatan: dict[str, Any], sites: Sequence[SiteSpec], start: float, hours: float,
               interval: float = 5.0, seed: int = 7, noise_m: float = 4.0) -> TruckPlan:
    """Plan one truck's shift: depot, rounds of 3–5 TPS in its kecamatan then the TPA, back to the depot."""
    rng = random.Random(seed * 100_003 + idx)
    # Depot 400 m south-west of the kecamatan label point, away from the kelurahan TPS points.
    depot = (kecamatan["label_lat"] - 0.0036, kecamatan["label_lon"] - 0.0036)
    plan = TruckPlan(unique_id=f"SIM-{idx:04d}", plat_nomor=f"B {9000 + idx} SIM",
                     jenis=("compactor", "dump_truck", "arm_roll")[idx % 3], kecamatan_kode=kecamatan["kode"],
                     depot=depot)
    tps = [s for s in sites if s.jenis == "TPS" and s.kecamatan_kode == kecamatan["kode"]
           and haversine_m(s.lat, s.lon, *depot) > 400]
    tpa = next(s for s in sites if s.jenis == "TPA")
    end = start + hours * 3600
    d = _Driver(plan, start, interval, rng, noise_m)
    d.dwell("depot", "Depot", rng.uniform(300, 600))
    while tps:
        round_sites = rng.sample(tps, k=min(len(tps), rng.randint(3, 5)))
        # Time for the round: drive ~25 km/h plus dwells; stop if it would not fit before the shift ends.
        path = [(d.lat, d.lon)] + [(s.lat, s.lon) for s in round_sites] + [(tpa.lat, tpa.lon), depot]
        need = sum(haversine_m(*a, *b) for a, b in zip(path, path[1:], strict=False)) / (22 / 3.6) + 3600
        if d.t + need > end and plan.stops[1:]:
            break
        for s in _nearest_order((d.lat, d.lon), round_sites):
            d.drive(s.lat, s.lon, rng.uniform(20, 30))
            d.dwell("TPS", s.nama, rng.uniform(300, 600))
        d.drive(tpa.lat, tpa.lon, rng.uniform(30, 40))
        d.dwell("TPA", tpa.nama, rng.uniform(1200, 1800))
        if d.t + 3600 > end:
            break
    d.drive(*depot, rng.uniform(30, 40))
    d.dwell("depot", "Depot", 600)
    return plan


def _nearest_order(start: tuple[float, float], sites: Sequence[SiteSpec]) -> list[SiteSpec]:
    left, out, here = list(sites), [], start
    while left:
        nxt = min(left, key=lambda s: haversine_m(*here, s.lat, s.lon))
        left.remove(nxt)
        out.append(nxt)
        here = (nxt.lat, nxt.lon)
    return out


def plan_fleet(trucks: int, hours: float, start: float, kecamatan: Sequence[dict[str, Any]],
               sites: Sequence[SiteSpec], interval: float = 5.0, seed: int = 7) -> list[TruckPlan]:
    """Plan a fleet: trucks spread round-robin over the kecamatan."""
    kec = sorted(kecamatan, key=lambda k: k["kode"])
    return [plan_truck(i, kec[i % len(kec)], sites, start, hours, interval, seed) for i in range(trucks)]


def write_plan(plans: Sequence[TruckPlan], path: Path) -> None:
    """Save the ground truth (planned stops per truck) as JSON."""
    path.write_text(json.dumps([p.to_json() for p in plans], indent=1), encoding="utf-8")


def sim_tracker_keys(conn: Any, unique_ids: Sequence[str]) -> dict[str, str]:
    """A tracker key bound to each simulated device (the ingest requires one by default), by device identifier.

    Each device has one key named `sim-tracker-<id>`: created on the first run, given a fresh secret (rotated)
    on later runs, so no secret is ever written to disk or a log; the keys live in memory for this run only.
    Created by the CLI user, audited; the connection is committed."""
    from geo_api import apikeys
    from geo_api.audit import Actor
    from sql import query

    keys: dict[str, str] = {}
    for uid in unique_ids:
        name = f"sim-tracker-{uid}"[:100]
        row = conn.execute(query("trust_key_get"), {"name": name}).fetchone()
        if row is not None and row["revoked_at"] is None and row["device_unique_id"] == uid:
            keys[uid], _ = apikeys.rotate(conn, Actor.cli(), name)
        else:
            if row is not None:  # revoked or bound elsewhere by someone: leave it, use a new name
                name = f"sim-tracker-{uid}-{random.randrange(16**6):06x}"[:100]
            keys[uid], _ = apikeys.create(conn, Actor.cli(), name, "tracker", device=uid)
    conn.commit()
    return keys


async def drive_fleet(plans: Sequence[TruckPlan], base_url: str, speedup: float, *, path: str = "/osmand",
                      sim_start: float | None = None, max_retries: int = 50,
                      progress: Callable[[int], None] | None = None,
                      keys: dict[str, str] | None = None) -> dict[str, int]:
    """Send every truck's fixes as OsmAnd GET requests, paced by `speedup` (≤0: as fast as possible).

    `keys` (device identifier → tracker key, see sim_tracker_keys) adds each device's `key` parameter, as a
    Traccar Client with `?key=` in its server URL does. Like Traccar Client, a fix that is not answered 200 is
    retried (after a pause) before the next one, so a restart of the server or database loses nothing."""
    import httpx

    counts = {"sent": 0, "retries": 0, "failed": 0}
    t0 = sim_start if sim_start is not None else min((p.fixes[0][0] for p in plans if p.fixes), default=0)
    wall0 = time.monotonic()
    limits = httpx.Limits(max_connections=len(plans) + 1, max_keepalive_connections=len(plans) + 1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def one(plan: TruckPlan) -> None:
            for t, lat, lon, speed, course in plan.fixes:
                if speedup > 0:
                    delay = (t - t0) / speedup - (time.monotonic() - wall0)
                    if delay > 0:
                        await asyncio.sleep(delay)
                params = {"id": plan.unique_id, "lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "timestamp": f"{t:.0f}",
                          "speed": speed, "bearing": course}
                if keys and plan.unique_id in keys:
                    params["key"] = keys[plan.unique_id]
                for attempt in range(max_retries):
                    try:
                        r = await client.get(path, params=params)
                        if r.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    counts["retries"] += 1
                    await asyncio.sleep(min(5.0, 0.2 * (attempt + 1)))
                else:
                    counts["failed"] += 1
                counts["sent"] += 1
                if progress and counts["sent"] % 1000 == 0:
                    progress(counts["sent"])

        await asyncio.gather(*(one(p) for p in plans))
    return counts
