"""Evidence for waste complaints: the service record of the nearest scheduled TPS, for the routing explanation.

When a laporan in a waste category is routed, the nearest TPS with a `jadwal` within `fleet_evidence_radius_m`
gives its schedule, the last pickup (a visit as visit detection defines it, over the last days) and today's
status — "TPS Pasar Anyar dijadwalkan setiap hari 05:00-09:00; pengangkutan terakhir kemarin 07:12; hari ini
terlewat". Called through one hook in `geo_api.routing.service.route`; it adds `alasan["pengangkutan"]`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from geo_api.db import fetch_all
from geo_api.fleet import analysis
from geo_api.fleet import pickups as pk
from geo_api.settings import Settings
from ingestion import jadwal as jd
from ingestion import trips as det
from ingestion.fix_filters import haversine_m

log = logging.getLogger("satupeta.fleet.evidence")

WASTE_CATEGORIES = frozenset({"sampah_menumpuk", "sampah_liar", "tps_liar", "sampah"})
LOOKBACK_DAYS = 7


def is_waste(layanan_kode: str) -> bool:
    """A waste category: the catalogue's sampah_* and TPS ones."""
    k = (layanan_kode or "").lower()
    return k in WASTE_CATEGORIES or k.startswith("sampah") or "tps" in k


def nearest(sched: list[pk.ScheduledSite], lat: float, lon: float, radius_m: float
            ) -> tuple[pk.ScheduledSite, float] | None:
    """The scheduled site nearest the point (its centroid) within radius_m."""
    best = None
    for s in sched:
        c = s.site.geom.centroid
        d = haversine_m(lat, lon, c.y, c.x)
        if d <= radius_m and (best is None or d < best[1]):
            best = (s, d)
    return best


def _when(tz: ZoneInfo, t: float, now: datetime) -> str:
    at = datetime.fromtimestamp(t, tz)
    days = (now.astimezone(tz).date() - at.date()).days
    day = {0: "hari ini", 1: "kemarin"}.get(days, f"{at:%d-%m-%Y}")
    return f"{day} {at:%H:%M}"


def service_record(tz: ZoneInfo, s: pk.ScheduledSite, distance_m: float, visits: list[jd.Pickup], now: datetime
                   ) -> dict[str, Any]:
    """The record and its sentence: schedule, last pickup, today's status (pure)."""
    today = now.astimezone(tz).date()
    past = [v for v in visits if v.arrival <= now.timestamp()]
    last = max(past, key=lambda v: v.arrival) if past else None
    st = jd.day_status(s.jadwal, today, tz, visits, now)
    status = st.status if st is not None else None
    yesterday = jd.day_status(s.jadwal, today - timedelta(days=1), tz, visits, now)
    parts = [f"{s.site.nama} dijadwalkan {s.jadwal.text}"]
    parts.append(f"pengangkutan terakhir {_when(tz, last.arrival, now)}" if last else
                 f"tidak ada pengangkutan tercatat {LOOKBACK_DAYS} hari terakhir")
    parts.append(f"hari ini {jd.STATUS_TEXT[status]}" if status else "hari ini tidak dijadwalkan")
    return {
        "site_fid": s.site.fid, "nama": s.site.nama, "jenis": s.site.jenis, "jadwal": s.jadwal.text,
        "jarak_m": round(distance_m), "kendaraan": s.site.kendaraan,
        "pengangkutan_terakhir": None if last is None else {
            "plat_nomor": last.plat_nomor, "arrival": analysis.clock(tz, last.arrival),
            "departure": analysis.clock(tz, last.departure)},
        "status_hari_ini": status, "status_kemarin": yesterday.status if yesterday else None,
        "terlewat": status == jd.TERLEWAT, "teks": "; ".join(parts),
    }


async def _site_visits(conn: psycopg.AsyncConnection, settings: Settings, site: det.Site, lo: datetime,
                       hi: datetime) -> list[jd.Pickup]:
    # only the fixes around the site (the device/time index, then a box): a few hundred rows, not a fleet-week
    c = site.geom.centroid
    pad = (site.radius_m + 300) / det.M_PER_DEG_LAT
    vehicles = await fetch_all(conn, "fleet_vehicles_list")
    owner = {d: v for v in vehicles for d in v["device_ids"]}
    rows = await fetch_all(conn, "fleet_fixes_near", {
        "device_ids": list(owner), "lo": lo, "hi": hi, "min_lat": c.y - pad, "max_lat": c.y + pad,
        "min_lon": c.x - pad, "max_lon": c.x + pad})
    per_vehicle: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        per_vehicle.setdefault(owner[r["device_id"]]["id"], []).append(r)
    by_id = {v["id"]: v for v in vehicles}
    out: list[jd.Pickup] = []
    cfg = analysis.detection_config(settings)
    for vid, fixes in per_vehicle.items():
        fixes.sort(key=lambda r: r["t"])  # a vehicle with two devices: one track in time order
        out.extend(pk.vehicle_pickups(cfg, by_id[vid], fixes, [site]).get(site.fid, []))
    return out


class EvidenceSource:
    """The hook the routing service calls: (conn, layanan_kode, lat, lon, keputusan) adds the service record."""

    def __init__(self, settings: Settings, fleet: Any):
        self.settings, self.fleet = settings, fleet

    async def __call__(self, conn: psycopg.AsyncConnection, layanan_kode: str, lat: float, lon: float,
                       keputusan: Any, now: datetime | None = None) -> dict[str, Any] | None:
        """Attach `alasan["pengangkutan"]` for a waste complaint near a scheduled TPS; never fails the routing."""
        if not is_waste(layanan_kode):
            return None
        try:
            record = await self.record(conn, lat, lon, now)
        except psycopg.Error:  # the evidence is a bonus: a routing decision never fails for it
            log.warning("pickup evidence unavailable", exc_info=True)
            return None
        if record is not None:
            keputusan.alasan["pengangkutan"] = record
        return record

    async def record(self, conn: psycopg.AsyncConnection, lat: float, lon: float, now: datetime | None = None
                     ) -> dict[str, Any] | None:
        """The nearest scheduled TPS's service record, or None when none lies within the radius."""
        tz = ZoneInfo(self.settings.fleet_timezone)
        now = now or datetime.now(tz)
        found = nearest(pk.scheduled(await self.fleet.sites(conn)), lat, lon, self.settings.fleet_evidence_radius_m)
        if found is None:
            return None
        s, dist = found
        day0 = now.astimezone(tz).date() - timedelta(days=LOOKBACK_DAYS)
        lo = datetime(day0.year, day0.month, day0.day, tzinfo=tz)
        visits = await _site_visits(conn, self.settings, s.site, lo, now + timedelta(minutes=1))
        return service_record(tz, s, dist, visits, now)
