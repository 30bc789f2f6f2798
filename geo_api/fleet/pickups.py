"""Pickups (pengangkutan): each scheduled site's status for a day from the visits the trucks made.

Facts in (sites with their `jadwal`, each vehicle's good fixes), visit detection exactly as
`ingestion.trips.site_visits` defines it, then the pure `ingestion.jadwal.day_status`. Runs in a worker
thread (`Services.heavy`): detection is NumPy work over every truck's day.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from geo_api.fleet.analysis import clock, track_of
from ingestion import jadwal as jd
from ingestion import trips as det


@dataclass(frozen=True, slots=True)
class ScheduledSite:
    """A site with a parsed schedule."""

    site: det.Site
    jadwal: jd.Jadwal


def scheduled(sites: Sequence[det.Site] | None) -> list[ScheduledSite]:
    """The sites that carry a schedule (one that no longer parses is skipped: publishing refuses those)."""
    out = []
    for s in sites or ():
        try:
            j = jd.parse(s.jadwal)
        except jd.JadwalError:
            continue
        if j is not None:
            out.append(ScheduledSite(s, j))
    return out


def select(sched: Sequence[ScheduledSite], days: Iterable[date], kecamatan: str | None,
           vehicle: dict[str, Any] | None) -> list[ScheduledSite]:
    """Sites scheduled on any of `days`, in the kecamatan, and served by the vehicle (its plate, or unassigned
    sites of its kecamatan)."""
    days = list(days)
    out = []
    for s in sched:
        if not any(s.jadwal.scheduled_on(d) for d in days):
            continue
        if kecamatan and s.site.kecamatan_kode != kecamatan:
            continue
        if vehicle is not None and not serves(vehicle, s.site):
            continue
        out.append(s)
    return out


def _norm_plate(p: str | None) -> str:
    return "".join((p or "").split()).upper()


def serves(vehicle: dict[str, Any], site: det.Site) -> bool:
    """The vehicle is the site's assigned truck, or the site has none and lies in the vehicle's kecamatan."""
    if site.kendaraan:
        return _norm_plate(site.kendaraan) == _norm_plate(vehicle["plat_nomor"])
    return site.kecamatan_kode is not None and site.kecamatan_kode == vehicle.get("kecamatan_kode")


def span(sched: Sequence[ScheduledSite], days: Sequence[date], tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The fix span the visits of `days` need (windows past midnight and their late periods included)."""
    lo = datetime(days[0].year, days[0].month, days[0].day, tzinfo=tz)
    hi = lo + timedelta(days=len(days))
    for s in sched:
        for d in days:
            hi = max(hi, jd.visit_span(s.jadwal, d, tz)[1])
    return lo, hi


class SiteIndex:
    """An R-tree over the sites' geometries, built once per request: which sites a track comes near."""

    def __init__(self, sites: Sequence[det.Site]):
        self.sites = list(sites)
        self.tree = shapely.STRtree([s.geom for s in self.sites]) if self.sites else None
        radius = max((s.radius_m for s in self.sites), default=0.0)
        self.reach_deg = radius / det.M_PER_DEG_LAT * 1.2 + 1e-5  # slack: a degree of longitude is shorter

    def candidates(self, track: det.Track) -> list[det.Site]:
        """The sites some fix of the track comes within reach of; detection itself decides inside or not."""
        if self.tree is None or len(track) == 0:
            return []
        hit = self.tree.query(shapely.points(track.lon, track.lat), predicate="dwithin", distance=self.reach_deg)
        return [self.sites[i] for i in np.unique(hit[1]).tolist()]


def vehicle_pickups(cfg: det.DetectionConfig, vehicle: dict[str, Any], rows: Sequence[dict[str, Any]],
                    sites: Sequence[det.Site] | SiteIndex) -> dict[str, list[jd.Pickup]]:
    """One vehicle's visits (as pickups) per site fid, detected only at the sites its track came near."""
    tr = track_of(rows)
    index = sites if isinstance(sites, SiteIndex) else SiteIndex(sites)
    out: dict[str, list[jd.Pickup]] = defaultdict(list)
    for v in det.site_visits(tr, index.candidates(tr), cfg):
        out[v.site.fid].append(jd.Pickup(vehicle["id"], vehicle["plat_nomor"], v.arrival, v.departure))
    return out


def merge(per_vehicle: Iterable[dict[str, list[jd.Pickup]]]) -> dict[str, list[jd.Pickup]]:
    """Every vehicle's pickups per site fid."""
    out: dict[str, list[jd.Pickup]] = defaultdict(list)
    for d in per_vehicle:
        for fid, ps in d.items():
            out[fid].extend(ps)
    return out


def _pickup_json(tz: ZoneInfo, p: jd.Pickup) -> dict[str, Any]:
    return {"vehicle_id": p.vehicle_id, "plat_nomor": p.plat_nomor, "arrival": clock(tz, p.arrival),
            "departure": clock(tz, p.departure)}


def site_day(tz: ZoneInfo, s: ScheduledSite, d: date, visits: Sequence[jd.Pickup], now: datetime
             ) -> jd.DayStatus | None:
    """The site's status on day d."""
    return jd.day_status(s.jadwal, d, tz, visits, now)


def feature(tz: ZoneInfo, s: ScheduledSite, d: date, st: jd.DayStatus) -> dict[str, Any]:
    """A scheduled site's day as a GeoJSON Feature."""
    c = s.site.geom.centroid if s.site.geom.geom_type != "Point" else s.site.geom
    props = {
        "fid": s.site.fid, "nama": s.site.nama, "jenis": s.site.jenis, "jadwal": s.jadwal.text,
        "kecamatan_kode": s.site.kecamatan_kode, "kendaraan": s.site.kendaraan, "date": d.isoformat(),
        "status": st.status, "status_teks": jd.STATUS_TEXT[st.status],
        "windows": [{"window": w.window.text, "start": w.start.astimezone(tz).isoformat(timespec="seconds"),
                     "end": w.end.astimezone(tz).isoformat(timespec="seconds"), "status": w.status,
                     "visit": None if w.pickup is None else _pickup_json(tz, w.pickup)} for w in st.windows],
        "visits": [_pickup_json(tz, p) for p in st.pickups],
    }
    return {"type": "Feature", "id": s.site.fid, "geometry": shapely.geometry.mapping(c), "properties": props}


def day_features(tz: ZoneInfo, sched: Sequence[ScheduledSite], d: date, visits: dict[str, list[jd.Pickup]],
                 now: datetime) -> list[dict[str, Any]]:
    """Every selected site scheduled on day d, with its status."""
    out = []
    for s in sched:
        st = site_day(tz, s, d, visits.get(s.site.fid, ()), now)
        if st is not None:
            out.append(feature(tz, s, d, st))
    return out


def counts(features: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many sites have each status."""
    c = Counter(f["properties"]["status"] for f in features)
    return {k: c.get(k, 0) for k in (jd.TEPAT_WAKTU, jd.TERLAMBAT, jd.TERLEWAT, jd.BELUM)}


CSV_COLUMNS = ("date", "fid", "nama", "jenis", "kecamatan_kode", "kendaraan", "jadwal", "status", "window",
               "window_start", "window_end", "window_status", "plat_nomor", "arrival", "departure", "lon", "lat")


def to_csv(features: Sequence[dict[str, Any]]) -> str:
    """One row per site and window: the window's status and the visit that counts for it."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for f in features:
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"][:2]
        for win in p["windows"]:
            v = win["visit"] or {}
            w.writerow([p["date"], p["fid"], p["nama"], p["jenis"], p["kecamatan_kode"], p["kendaraan"], p["jadwal"],
                        p["status"], win["window"], win["start"], win["end"], win["status"], v.get("plat_nomor"),
                        v.get("arrival"), v.get("departure"), round(lon, 6), round(lat, 6)])
    return buf.getvalue()


def report(tz: ZoneInfo, sched: Sequence[ScheduledSite], days: Sequence[date], visits: dict[str, list[jd.Pickup]],
           now: datetime) -> dict[str, Any]:
    """On-time report over days: per day, per kecamatan and per truck (window occurrences, on-time %)."""
    def blank() -> Counter:
        return Counter({jd.TEPAT_WAKTU: 0, jd.TERLAMBAT: 0, jd.TERLEWAT: 0, jd.BELUM: 0})
    per_day: dict[str, Counter] = defaultdict(blank)
    per_kec: dict[str, Counter] = defaultdict(blank)
    per_truck: dict[str, Counter] = defaultdict(blank)
    total = blank()
    by_site = {fid: sorted(ps, key=lambda p: p.arrival) for fid, ps in visits.items()}
    starts = {fid: [p.arrival for p in ps] for fid, ps in by_site.items()}
    for d in days:
        for s in sched:
            lo, hi = jd.visit_span(s.jadwal, d, tz)
            ps, ts = by_site.get(s.site.fid, []), starts.get(s.site.fid, [])
            near = ps[bisect.bisect_left(ts, lo.timestamp()):bisect.bisect_left(ts, hi.timestamp())]
            st = site_day(tz, s, d, near, now)
            if st is None:
                continue
            for w in st.windows:
                truck = w.pickup.plat_nomor if w.pickup is not None else (s.site.kendaraan or "(tidak ditetapkan)")
                for bucket in (per_day[d.isoformat()], per_kec[s.site.kecamatan_kode or "-"], per_truck[truck], total):
                    bucket[w.status] += 1
    return {"total": _rate(total), "per_day": {k: _rate(v) for k, v in sorted(per_day.items())},
            "per_kecamatan": {k: _rate(v) for k, v in sorted(per_kec.items())},
            "per_kendaraan": {k: _rate(v) for k, v in sorted(per_truck.items())}}


def _rate(c: Counter) -> dict[str, Any]:
    done = c[jd.TEPAT_WAKTU] + c[jd.TERLAMBAT] + c[jd.TERLEWAT]
    return {**dict(c), "tepat_waktu_persen": round(100 * c[jd.TEPAT_WAKTU] / done, 1) if done else None}
