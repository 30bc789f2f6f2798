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
    jadwal: str | None = None  # collection schedule (ingestion.jadwal), set by schedule_sites
    kendaraan: str | None = None  # plate of the truck assigned to it


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
    """The synthetic sites as a GeoJSON FeatureCollection, labelled synthetic in every feature (with `jadwal` and
    `kendaraan` once schedule_sites gave them)."""
    scheduled = any(s.jadwal for s in sites)
    return {
        "type": "FeatureCollection",
        "name": "lokasi_tps_tpa_sintetis",
        "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(s.lon, 6), round(s.lat, 6)]},
            "properties": {"nama": s.nama, "jenis": s.jenis, "kelurahan_kode": s.kelurahan_kode,
                           "kecamatan_kode": s.kecamatan_kode, "sumber": SYNTHETIC_NOTE,
                           **({"jadwal": s.jadwal, "kendaraan": s.kendaraan} if scheduled else {})},
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
                      keys: dict[str, str] | None = None, live: bool = False) -> dict[str, int]:
    """Send every truck's fixes as OsmAnd GET requests, paced by `speedup` (≤0: as fast as possible); with `live`,
    never before the fix's own time (a day's past is sent at once, the rest as it happens).

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
                delay = (t - t0) / speedup - (time.monotonic() - wall0) if speedup > 0 else 0.0
                if live:
                    delay = max(delay, t - time.time())
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


# ---------------------------------------------------------------- schedules (jadwal angkut), SINTETIS

@dataclass(slots=True)
class PlannedPickup:
    """What the truck was planned to do at a scheduled TPS: tepat_waktu, terlambat or terlewat (skipped; with
    `drive_by` it drove through the geofence without stopping), with the window and the planned arrival."""

    nama: str
    plat_nomor: str
    outcome: str
    window_start: float
    window_end: float
    arrival: float | None
    drive_by: bool = False


WINDOW_FIRST_MIN = 5 * 60  # the first window of a truck's round starts 05:00 WIB
WINDOW_STEP_MIN = 60
WINDOW_LEN_MIN = 90


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def window_starts(n: int, first_min: int, last_start_min: int | None) -> list[int]:
    """Start minutes of a truck's n windows: from first_min an hour apart, or spread evenly (at least an hour
    apart) up to last_start_min (which may pass midnight: a window spanning the day boundary)."""
    if n <= 1 or last_start_min is None:
        return [first_min + k * WINDOW_STEP_MIN for k in range(n)]
    step = max(WINDOW_STEP_MIN, (last_start_min - first_min) // (n - 1))
    return [first_min + k * step for k in range(n)]


def _window_text(a: int) -> str:
    return f"setiap hari {_hhmm(a)}-{_hhmm(a + WINDOW_LEN_MIN)}"


def schedule_sites(sites: Sequence[SiteSpec], plans: Sequence[TruckPlan], day_weekday: int,
                   first_min: int = WINDOW_FIRST_MIN, last_start_min: int | None = None) -> dict[str, list]:
    """Give every TPS a SINTETIS `jadwal` and the truck that serves it; returns each truck's TPS in round order.

    The TPS of a kecamatan are shared among its trucks; each truck's are ordered as a nearest-neighbour round
    from its depot, and the k-th gets `setiap hari HH:MM-HH:MM`, 90 minutes long, from `first_min` (05:00) an hour
    apart (or spread up to `last_start_min`, see window_starts). Every fifth TPS is scheduled only on two other
    weekdays than `day_weekday` (so it is absent that day)."""
    from ingestion.jadwal import DAYS

    rounds: dict[str, list[SiteSpec]] = {p.unique_id: [] for p in plans}
    by_kec: dict[str, list[TruckPlan]] = {}
    for p in plans:
        by_kec.setdefault(p.kecamatan_kode, []).append(p)
    tps = sorted((s for s in sites if s.jenis == "TPS"), key=lambda s: s.nama)
    for n, s in enumerate(tps):
        if n % 5 == 4:
            other = (DAYS[(day_weekday + 1) % 7], DAYS[(day_weekday + 3) % 7])
            s.jadwal = f"{other[0]},{other[1]} 06:00-09:00"
    for kec, trucks in by_kec.items():
        mine = [s for s in tps if s.kecamatan_kode == kec and s.jadwal is None
                and all(haversine_m(s.lat, s.lon, *t.depot) > 150 for t in trucks)]
        for i, t in enumerate(trucks):
            share = _nearest_order(t.depot, mine[i::len(trucks)])
            for s, a in zip(share, window_starts(len(share), first_min, last_start_min), strict=True):
                s.jadwal, s.kendaraan = _window_text(a), t.plat_nomor
            rounds[t.unique_id] = share
    for s in tps:  # TPS of kecamatan without a truck: scheduled, never served (terlewat)
        if s.jadwal is None:
            s.jadwal = _window_text(first_min + 60)
    return rounds


def _outcome(rng: random.Random, idx: int, k: int) -> str:
    if idx == 0 and k in (1, 2, 3):  # the first truck shows every status whatever the dice say
        return ("terlambat", "lewat", "terlewat")[k - 1]
    return rng.choices(("tepat_waktu", "terlambat", "lewat", "terlewat"), weights=(70, 14, 8, 8))[0]


def plan_scheduled_truck(idx: int, plan: TruckPlan, rounds: Sequence[SiteSpec], tpa: SiteSpec,
                         midnight: float, interval: float = 5.0, seed: int = 7, noise_m: float = 4.0,
                         first_min: int = WINDOW_FIRST_MIN) -> tuple[TruckPlan, list[PlannedPickup]]:
    """The truck `plan` following its TPS's windows: on time (arrives 3+ minutes after the start and 10+ before the
    end), SINTETIS late (waits away from the site until 5-30 minutes after the end) or skipped (drives by, or not
    at all); then the TPA and back to the depot. Returns the plan and its pickups (the tests' truth)."""
    rng = random.Random(seed * 100_003 + idx + 17)
    return plan, _drive_rounds(plan, rounds, tpa, midnight, interval, rng, noise_m, idx, first_min)


def _leg_s(d: _Driver, lat: float, lon: float, kmh: float) -> float:
    return haversine_m(d.lat, d.lon, lat, lon) / (kmh / 3.6) + 2 * d.interval


def _drive_rounds(plan: TruckPlan, rounds: Sequence[SiteSpec], tpa: SiteSpec, midnight: float, interval: float,
                  rng: random.Random, noise_m: float, idx: int, first_min: int = WINDOW_FIRST_MIN
                  ) -> list[PlannedPickup]:
    from ingestion.jadwal import parse

    d = _Driver(plan, midnight + first_min * 60 - 1800, interval, rng, noise_m)
    d.dwell("depot", "Depot", 600)
    out: list[PlannedPickup] = []
    for k, s in enumerate(rounds):
        w = parse(s.jadwal).windows[0]
        lo, hi = midnight + w.start_min * 60, midnight + w.end_min * 60
        want = _outcome(rng, idx, k)
        kmh = rng.uniform(20, 30)
        if want == "terlewat":
            out.append(PlannedPickup(s.nama, plan.plat_nomor, "terlewat", lo, hi, None))
            continue
        eta = d.t + _leg_s(d, s.lat, s.lon, kmh)
        if want == "tepat_waktu" and eta > hi - 600:
            want = "terlambat"  # running behind: it will be late, and then clearly so
        earliest = lo + 180 if want == "tepat_waktu" else hi + rng.uniform(300, 1800)
        if want != "lewat" and eta < earliest:
            d.dwell("wait", "Menunggu", earliest - eta)
        d.drive(s.lat, s.lon, kmh)
        if want == "lewat":
            out.append(PlannedPickup(s.nama, plan.plat_nomor, "terlewat", lo, hi, None, drive_by=True))
            d.drive(s.lat + 0.003, s.lon + 0.003, kmh)  # on through, without stopping
            continue
        out.append(PlannedPickup(s.nama, plan.plat_nomor, want, lo, hi, d.t))
        d.dwell("TPS", s.nama, rng.uniform(300, 600))
    d.drive(tpa.lat, tpa.lon, rng.uniform(30, 40))
    d.dwell("TPA", tpa.nama, rng.uniform(1200, 1800))
    d.drive(*plan.depot, rng.uniform(30, 40))
    d.dwell("depot", "Depot", 600)
    return out


def plan_scheduled_fleet(trucks: int, day: Any, tz: Any, kecamatan: Sequence[dict[str, Any]],
                         sites: Sequence[SiteSpec], interval: float = 5.0, seed: int = 7, tag: str = "SIM",
                         first_min: int = WINDOW_FIRST_MIN, last_start_min: int | None = None
                         ) -> tuple[list[TruckPlan], list[PlannedPickup]]:
    """A fleet that follows the TPS schedules on `day` (a date; `tz` the fleet's zone): gives the sites their
    SINTETIS jadwal (schedule_sites, windows from `first_min`, spread up to `last_start_min`) and returns the plans
    and every planned pickup. `tag` ends each plate and device id (`B 9000 SIM`), so two simulated fleets in one
    database stay apart."""
    from datetime import datetime

    kec = sorted(kecamatan, key=lambda k: k["kode"])
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    skeleton = [plan_truck_identity(i, kec[i % len(kec)], tag) for i in range(trucks)]
    rounds = schedule_sites(sites, skeleton, day.weekday(), first_min, last_start_min)
    tpa = next(s for s in sites if s.jenis == "TPA")
    plans, pickups = [], []
    for i, sk in enumerate(skeleton):
        plan, picks = plan_scheduled_truck(i, sk, rounds[sk.unique_id], tpa, midnight, interval, seed,
                                           first_min=first_min)
        plans.append(plan)
        pickups.extend(picks)
    return plans, pickups


def plan_truck_identity(idx: int, kecamatan: dict[str, Any], tag: str = "SIM") -> TruckPlan:
    """A truck's identity and depot (as plan_truck places it), without stops or fixes yet."""
    depot = (kecamatan["label_lat"] - 0.0036, kecamatan["label_lon"] - 0.0036)
    return TruckPlan(unique_id=f"{tag}-{idx:04d}", plat_nomor=f"B {9000 + idx} {tag}"[:20],
                     jenis=("compactor", "dump_truck", "arm_roll")[idx % 3], kecamatan_kode=kecamatan["kode"],
                     depot=depot)


def demo_windows(now_min: int) -> tuple[int, int]:
    """First and last window start (minutes after midnight) for today simulated at `now_min`: from four hours
    before the hour to six after (the last at most 23:59, its window past midnight), so some windows ended before
    now (served on time, late, skipped) and some have not (belum waktunya): every status from about 04:00 WIB on.
    Whole hours, so runs within one hour give the same schedules."""
    hour = now_min // 60 * 60
    return max(0, hour - 4 * 60), min(23 * 60 + 59, hour + 6 * 60)


def truncate(plans: Sequence[TruckPlan], t: float) -> int:
    """Drop every fix after epoch t (what the trucks have not driven yet); returns how many were dropped."""
    dropped = 0
    for p in plans:
        keep = [f for f in p.fixes if f[0] <= t]
        dropped += len(p.fixes) - len(keep)
        p.fixes = keep
    return dropped


def write_scheduled_plan(plans: Sequence[TruckPlan], pickups: Sequence[PlannedPickup], path: Path) -> None:
    """Save the ground truth of a scheduled day: the trucks (as write_plan) and every planned pickup."""
    path.write_text(json.dumps({"trucks": [p.to_json() for p in plans], "pengangkutan": [asdict(x) for x in pickups]},
                               indent=1), encoding="utf-8")
