"""Si Lacak's service record for the routers: the filters (kecamatan, kendaraan, month) and the pickups of a day.

The pickup status is decided by the pure `ingestion.jadwal.day_status` over visits detected as
`ingestion.trips.site_visits` defines them; the detection runs in a worker thread (`heavy`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import psycopg
from fastapi import Query

from geo_api.db import fetch_all
from geo_api.errors import InvalidParameter
from geo_api.fleet import analysis
from geo_api.fleet import pickups as pk
from geo_api.params import MAX_DATE, MIN_DATE, check_date
from geo_api.settings import Settings

NO_JADWAL = ("Lapisan lokasi TPS/TPA belum memuat atribut jadwal (jadwal angkut), sehingga belum ada "
             "pengangkutan terjadwal untuk dinilai.")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

Kecamatan = Annotated[str | None, Query(max_length=100, description="Kecamatan: kode (36.71.xx) or nama")]
Kendaraan = Annotated[str | None, Query(max_length=40, description="Vehicle: plate (plat_nomor) or id")]


def _tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.fleet_timezone)


async def kecamatan_kode(conn: psycopg.AsyncConnection, raw: str | None) -> str | None:
    """The kecamatan's kode from a kode or a name (the gazetteer's); unknown is a 422 naming `kecamatan`."""
    if raw is None or not raw.strip():
        return None
    text = " ".join(raw.split())
    for r in await fetch_all(conn, "fleet_kecamatan_names"):
        if r["kode"] == text or r["nama"].lower() == text.lower():
            return r["kode"]
    raise InvalidParameter("kecamatan", f"no kecamatan {text[:100]!r} in Kota Tangerang (give its kode or nama)")


async def vehicle_of(conn: psycopg.AsyncConnection, raw: str | None) -> dict[str, Any] | None:
    """The vehicle by plate or id; unknown is a 422 naming `kendaraan`."""
    if raw is None or not raw.strip():
        return None
    want = "".join(raw.split()).upper()
    for v in await fetch_all(conn, "fleet_vehicles_list"):
        if str(v["id"]) == want or "".join(v["plat_nomor"].split()).upper() == want:
            return v
    raise InvalidParameter("kendaraan", f"no vehicle {raw[:40]!r} (give its plat_nomor or id)")


async def site_pickups(fleet: Any, heavy: Any, conn: psycopg.AsyncConnection, settings: Settings,
                  sched: list[pk.ScheduledSite], days: list[date], vehicle: dict[str, Any] | None
                 ) -> dict[str, list]:
    """Every pickup (visit) at the selected sites over the days, per site fid (one vehicle when given)."""
    lo, hi = pk.span(sched, days, _tz(settings))
    cfg = analysis.detection_config(settings)
    sites = pk.SiteIndex([s.site for s in sched])
    vehicles = [vehicle] if vehicle is not None else await fetch_all(conn, "fleet_vehicles_list")
    found = []
    for v in vehicles:
        rows = await fetch_all(conn, "fleet_fixes", {"device_ids": v["device_ids"], "lo": lo, "hi": hi})
        if rows:
            found.append(await heavy.run(pk.vehicle_pickups, cfg, v, rows, sites))
    return pk.merge(found)


async def day_pickups(fleet: Any, heavy: Any, conn: psycopg.AsyncConnection, settings: Settings, day: date | None,
                      kecamatan: str | None, kendaraan: str | None, now: datetime | None = None) -> dict[str, Any]:
    """The FeatureCollection of /fleet/pickups: every selected site scheduled that day with its status (as judged
    at `now`, the current time by default)."""
    tz = _tz(settings)
    d = check_date("date", day) or datetime.now(tz).date()
    kec = await kecamatan_kode(conn, kecamatan)
    vehicle = await vehicle_of(conn, kendaraan)
    all_sites = await fleet.sites(conn)
    sched_all = pk.scheduled(all_sites)
    out: dict[str, Any] = {"type": "FeatureCollection", "date": d.isoformat(), "kecamatan": kec,
                           "kendaraan": vehicle["plat_nomor"] if vehicle else None,
                           "sites_layer": settings.fleet_sites_layer, "features": []}
    if not sched_all:
        out["keterangan"] = NO_JADWAL
        out["counts"] = pk.counts([])
        return out
    sched = pk.select(sched_all, [d], kec, vehicle)
    visits = await site_pickups(fleet, heavy, conn, settings, sched, [d], vehicle) if sched else {}
    out["features"] = pk.day_features(tz, sched, d, visits, now or datetime.now(tz))
    out["counts"] = pk.counts(out["features"])
    return out


def month_days(month: str | None, tz: ZoneInfo) -> list[date]:
    """The days of `YYYY-MM` (this month when None); a bad or out-of-range month is a 422 naming `month`."""
    if month is None:
        today = datetime.now(tz).date()
        first = today.replace(day=1)
    else:
        m = _MONTH.match(month.strip())
        if m is None or not 1 <= int(m[2]) <= 12:
            raise InvalidParameter("month", f"month must be YYYY-MM, got {month[:20]!r}")
        first = date(int(m[1]), int(m[2]), 1)
        if not MIN_DATE <= first <= MAX_DATE:
            raise InvalidParameter("month", f"month must be between {MIN_DATE:%Y-%m} and {MAX_DATE:%Y-%m}")
    nxt = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


