"""Si Lacak out: the fleet's live positions, tracks, trips, stops, site visits and kelurahan coverage.

OsmAnd ingest is below the routers, in geo_api/fleet/ (the raw ASGI fast path under /osmand, the listener
port); the per-vehicle detection these endpoints report runs in a worker thread (geo_api/fleet/analysis.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
import shapely
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from geo_api.db import fetch_all, fetch_one, pooled
from geo_api.deps import AppSettings, Conn, Fleet, Heavy, ReadConn, ServicesDep
from geo_api.errors import InvalidParameter, NotFound, ServiceUnavailable
from geo_api.fleet import analysis, events, exports
from geo_api.fleet import pickups as pk
from geo_api.fleet import service as svc
from geo_api.fleet.terlewat import StreamMissed
from geo_api.params import check_date, check_datetime, day_bounds
from geo_api.settings import Settings
from ingestion import trips as det

router = APIRouter(tags=["Si Lacak (fleet)"])


# ---------------------------------------------------------------- fleet out

def _tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.fleet_timezone)


def _day_bounds(settings: Settings, day: date | None) -> tuple[date, datetime, datetime]:
    tz = _tz(settings)
    d = check_date("date", day) or datetime.now(tz).date()
    return d, *day_bounds(d, tz)


def _json(content: Any, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(content, default=str), media_type=media_type)


async def _vehicle(conn: psycopg.AsyncConnection, vehicle_id: int) -> dict[str, Any]:
    row = await fetch_one(conn, "fleet_vehicle_get", {"id": vehicle_id})
    if row is None:
        raise NotFound(f"No vehicle {vehicle_id}")
    return row


async def _fixes(conn: psycopg.AsyncConnection, vehicle: dict[str, Any], lo: datetime, hi: datetime
                 ) -> list[dict[str, Any]]:
    return await fetch_all(conn, "fleet_fixes", {"device_ids": vehicle["device_ids"], "lo": lo, "hi": hi})


class LivePosition(BaseModel):
    """A truck's position as anyone may read it: the vehicle, never its tracker's identifier (the OsmAnd `id` a
    device sends, which is its only credential while tracker keys are off) nor anything the crew typed."""

    vehicle_id: int
    plat_nomor: str
    jenis: str | None
    kecamatan_kode: str | None
    course: float | None
    fix_time: datetime
    received: datetime | None
    speed_kmh: float | None
    age_s: float
    terakhir_terlihat: str
    alarm: str | None = None  # the newest alarm of the last hour (Traccar Client's SOS is "sos")
    alarm_time: datetime | None = None


def _live_feature(settings: Settings, r: dict[str, Any]) -> dict[str, Any]:
    age = r["age_s"]
    props = LivePosition(vehicle_id=r["vehicle_id"], plat_nomor=r["plat_nomor"], jenis=r["jenis"],
                         kecamatan_kode=r["kecamatan_kode"], course=r["course"], fix_time=r["last_fix_time"],
                         received=r["last_received"],
                         speed_kmh=round(r["speed_kmh"], 1) if r["speed_kmh"] is not None else None,
                         age_s=round(age, 1), terakhir_terlihat=_age_text(age),
                         alarm=r.get("alarm"), alarm_time=r.get("alarm_time"))
    geometry = {"type": "Point", "coordinates": [r["lon"], r["lat"]]}
    return {"type": "Feature", "id": r["vehicle_id"], "geometry": geometry, "properties": props.model_dump()}


def _age_text(age_s: float) -> str:
    if age_s < 60:
        return f"{max(0, int(age_s))} detik lalu"
    if age_s < 3600:
        return f"{int(age_s // 60)} menit lalu"
    if age_s < 86400:
        return f"{int(age_s // 3600)} jam lalu"
    return f"{int(age_s // 86400)} hari lalu"


@router.get("/fleet/live", summary="Live positions of the fleet (GeoJSON) with last-seen age",
            responses={200: {"content": {"application/geo+json": {}}}})
async def live(conn: Conn, settings: AppSettings) -> Response:
    """Each active vehicle's newest good fix as a GeoJSON Feature."""
    rows = await fetch_all(conn, "fleet_live", {"since": None})
    return _json({"type": "FeatureCollection", "features": [_live_feature(settings, r) for r in rows]},
                 "application/geo+json")


@router.get("/fleet/live/stream", summary="Live positions as server-sent events")
async def live_stream(request: Request, settings: AppSettings, services: ServicesDep,
                      once: Annotated[bool, Query(description="Send one snapshot and close (tests)")] = False,
                      posisi: Annotated[bool, Query(description="false: only the terlewat events (the Armada map "
                                                                "polls /fleet/live for positions)")] = True
                      ) -> StreamingResponse:
    """SSE: a `snapshot` event with the whole fleet, then `positions` events with the vehicles that reported;
    `terlewat` events name the TPS whose pickup window ended without a visit (each TPS-day once per stream; computed
    once per window end for every stream and worker, geo_api/fleet/terlewat.py)."""
    pool = request.app.state.pool
    missed = StreamMissed(services.fleet.missed)

    async def events() -> AsyncIterator[bytes]:
        since = None
        kind = "snapshot"
        while True:
            started = datetime.now(timezone.utc)
            rows = None
            try:
                if posisi:
                    async with pooled(pool) as conn:
                        rows = await fetch_all(conn, "fleet_live", {"since": since})
            except ServiceUnavailable:
                yield b"event: error\ndata: {\"detail\": \"database unavailable\"}\n\n"
            if rows is not None:
                fc = {"type": "FeatureCollection", "features": [_live_feature(settings, r) for r in rows]}
                yield b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(fc, default=str) + b"\n\n"
                since, kind = started, "positions"
            try:
                chunk = await missed.event(pool, services.fleet, services.heavy)
            except ServiceUnavailable:
                chunk = None
            if chunk:
                yield chunk
            elif not posisi:
                yield b": -\n\n"  # an SSE comment: the connection stays alive through proxies
            if once or await request.is_disconnected():
                return
            await asyncio.sleep(settings.fleet_stream_interval_s)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _range(settings: Settings, start: datetime | None, end: datetime | None, day: date | None
           ) -> tuple[datetime, datetime]:
    if start is None and end is None:
        _, lo, hi = _day_bounds(settings, day)
        return lo, hi
    if start is None or end is None:
        raise InvalidParameter("start" if start is None else "end", "give both start and end, or a date")
    tz = _tz(settings)
    start = check_datetime("start", start if start.tzinfo else start.replace(tzinfo=tz))
    end = check_datetime("end", end if end.tzinfo else end.replace(tzinfo=tz))
    if end <= start:
        raise InvalidParameter("end", "end must be after start")
    if end - start > timedelta(days=31):
        raise InvalidParameter("end", "at most 31 days per request")
    return start, end


@router.get("/fleet/vehicles", summary="The vehicle registry")
async def vehicles(conn: Conn) -> Response:
    """Vehicles with their devices."""
    rows = await fetch_all(conn, "fleet_vehicles_list")
    for r in rows:
        r.pop("device_ids", None)
    return _json({"vehicles": rows})


@router.get("/fleet/vehicles/{vehicle_id}/track", summary="A truck's track (LineString, gaps split it)",
            responses={200: {"content": {"application/geo+json": {}}}})
async def track(conn: ReadConn, settings: AppSettings, vehicle_id: int,
                start: datetime | None = None, end: datetime | None = None, date: date | None = None,
                simplify_m: Annotated[float, Query(ge=0, le=500, description="Simplify tolerance, metres")] = 0
                ) -> Response:
    """GeoJSON Feature: LineString, or MultiLineString where the signal dropped for fleet_track_gap_s."""
    v = await _vehicle(conn, vehicle_id)
    lo, hi = _range(settings, start, end, date)
    tr = analysis.track_of(await _fixes(conn, v, lo, hi))
    parts = [p for p in det.track_parts(tr, settings.fleet_track_gap_s) if len(p) >= 2]
    if simplify_m > 0:
        tol = simplify_m / det.M_PER_DEG_LAT
        parts = [list(shapely.LineString(p).simplify(tol, preserve_topology=False).coords) for p in parts]
    if len(parts) == 1:
        geom = {"type": "LineString", "coordinates": parts[0]}
    else:
        geom = {"type": "MultiLineString", "coordinates": parts}
    props = {"vehicle_id": vehicle_id, "plat_nomor": v["plat_nomor"], "start": lo, "end": hi, "fixes": len(tr),
             "parts": len(parts), "gaps": max(0, len(parts) - 1)}
    return _json({"type": "Feature", "geometry": geom, "properties": props}, "application/geo+json")


async def _summary(fleet: Fleet, heavy: Heavy, conn: psycopg.AsyncConnection, settings: Settings,
                   v: dict[str, Any], lo: datetime, hi: datetime, dwell_s: float | None) -> dict[str, Any]:
    rows = await _fixes(conn, v, lo, hi)
    sites = await fleet.sites(conn)
    # detection is CPU work: a worker thread, so the loop keeps acknowledging GPS fixes meanwhile
    return await heavy.run(analysis.vehicle_summary, _tz(settings), analysis.detection_config(settings, dwell_s),
                           v, rows, sites, lo, hi)


@router.get("/fleet/vehicles/{vehicle_id}/summary",
            summary="A truck's trips, stops, site visits and totals for a day or a time range")
async def vehicle_summary(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, vehicle_id: int,
                          start: datetime | None = None, end: datetime | None = None, date: date | None = None,
                          dwell_s: Annotated[float | None, Query(ge=0, le=86400)] = None) -> Response:
    """Distance, driving and stopped time, trips, stops and visits (Traccar's stop/trip parameters)."""
    v = await _vehicle(conn, vehicle_id)
    lo, hi = _range(settings, start, end, date)
    return _json(await _summary(fleet, heavy, conn, settings, v, lo, hi, dwell_s))


@router.get("/fleet/summary", summary="Per-day summary of every truck")
async def fleet_summary(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings,
                        date: date | None = None) -> Response:
    """One row per vehicle for the day: distance, driving and stopped time, sites visited."""
    d, lo, hi = _day_bounds(settings, date)
    out = []
    for v in await fetch_all(conn, "fleet_vehicles_list"):
        s = await _summary(fleet, heavy, conn, settings, v, lo, hi, None)
        for k in ("trips", "stops", "visits"):
            s[f"{k}_count"] = len(s.pop(k))
        out.append(s)
    return _json({"date": d, "vehicles": out})


@router.get("/fleet/visits", summary="Visits to disposal sites (TPS/TPA) for a day")
async def visits(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, date: date | None = None,
                 dwell_s: Annotated[float | None, Query(ge=0, le=86400)] = None) -> Response:
    """Geofence enter/exit paired into visits with arrival, departure and dwell time, for every truck."""
    d, lo, hi = _day_bounds(settings, date)
    sites = await fleet.sites(conn)
    cfg = analysis.detection_config(settings, dwell_s)
    out = []
    for v in await fetch_all(conn, "fleet_vehicles_list"):
        out.extend(await heavy.run(analysis.vehicle_visits, _tz(settings), cfg, v, await _fixes(conn, v, lo, hi),
                                   sites))
    out.sort(key=lambda x: x["arrival"])
    return _json({"date": d, "sites_layer": settings.fleet_sites_layer, "sites_layer_published": sites is not None,
                  "visits": out})


@router.get("/fleet/sites/inside", summary="Which trucks are inside a disposal site now")
async def inside_now(fleet: Fleet, conn: Conn) -> Response:
    """Per site, the trucks whose newest fix lies inside its geofence."""
    sites = await fleet.sites(conn) or []
    rows = await fetch_all(conn, "fleet_live", {"since": None})
    out = []
    for site in sites:
        here = []
        for r in rows:
            tr = det.Track.from_rows([(0.0, r["lat"], r["lon"])])
            if det.inside_mask(tr, site)[0]:
                here.append({"vehicle_id": r["vehicle_id"], "plat_nomor": r["plat_nomor"],
                             "fix_time": r["last_fix_time"], "age_s": round(r["age_s"], 1)})
        if here:
            out.append({"site_fid": site.fid, "nama": site.nama, "jenis": site.jenis, "vehicles": here})
    return _json({"sites": out})


@router.get("/fleet/coverage", summary="Kelurahan each truck passed through on a day")
async def coverage(conn: ReadConn, settings: AppSettings, date: date | None = None,
                   vehicle_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                   kelurahan: str | None = None) -> Response:
    """Per vehicle and kelurahan: first and last time seen (fixes thinned to one per minute)."""
    d, lo, hi = _day_bounds(settings, date)
    rows = await fetch_all(conn, "fleet_coverage", {"lo": lo, "hi": hi, "vehicle_id": vehicle_id, "kode": kelurahan})
    tz = _tz(settings)
    for r in rows:
        r["first_seen"] = r["first_seen"].astimezone(tz).isoformat(timespec="seconds")
        r["last_seen"] = r["last_seen"].astimezone(tz).isoformat(timespec="seconds")
    return _json({"date": d, "coverage": rows})


@router.get("/fleet/coverage/last", summary="When the last truck passed a kelurahan (by point or code)")
async def last_pass(conn: ReadConn, settings: AppSettings, lon: float | None = None, lat: float | None = None,
                    kelurahan: str | None = None, date: date | None = None) -> Response:
    """"Truk terakhir lewat pukul 07:42": the newest good fix of the day inside the kelurahan."""
    if kelurahan:
        kel = await fetch_one(conn, "fleet_kelurahan_get", {"kode": kelurahan})
        if kel is None:
            raise NotFound(f"No kelurahan with kode {kelurahan}")
    elif lon is not None and lat is not None:
        kel = await fetch_one(conn, "fleet_kelurahan_at", {"lon": lon, "lat": lat})
        if kel is None:
            raise InvalidParameter("lon", "the point is not inside a kelurahan of Kota Tangerang")
    else:
        raise InvalidParameter("kelurahan", "give kelurahan (kode) or lon and lat")
    d, lo, hi = _day_bounds(settings, date)
    row = await fetch_one(conn, "fleet_last_in_kelurahan", {"kode": kel["kode"], "lo": lo, "hi": hi})
    if row is None:
        text = f"Belum ada truk yang lewat Kelurahan {kel['nama']} pada {d.isoformat()}."
        return _json({"date": d, "kelurahan": kel, "last": None, "keterangan": text})
    at = row["fix_time"].astimezone(_tz(settings))
    text = f"Truk terakhir lewat pukul {at:%H:%M} ({row['plat_nomor']}) di Kelurahan {kel['nama']}."
    return _json({"date": d, "kelurahan": kel, "last": {**row, "fix_time": at.isoformat(timespec="seconds")},
                  "keterangan": text})


# ---------------------------------------------------------------- the service record: pickups against jadwal

@router.get("/fleet/pickups", summary="Each TPS scheduled on a day with its pickup status (GeoJSON)",
            responses={200: {"content": {"application/geo+json": {}}}})
async def pickups(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, date: date | None = None,
                  kecamatan: svc.Kecamatan = None, kendaraan: svc.Kendaraan = None) -> Response:
    """Status tepat_waktu, terlambat, terlewat or belum_waktunya per scheduled site, with the visits that count."""
    fc = await svc.day_pickups(fleet, heavy, conn, settings, date, kecamatan, kendaraan)
    return _json(fc, "application/geo+json")


@router.get("/fleet/pickups.csv", summary="The day's pickups as CSV (one row per site and window)",
            responses={200: {"content": {"text/csv": {}}}})
async def pickups_csv(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, date: date | None = None,
                      kecamatan: svc.Kecamatan = None, kendaraan: svc.Kendaraan = None) -> Response:
    """The same as /fleet/pickups, one CSV row per site and window occurrence."""
    fc = await svc.day_pickups(fleet, heavy, conn, settings, date, kecamatan, kendaraan)
    name = f"pengangkutan_{fc['date']}.csv"
    return Response(pk.to_csv(fc["features"]), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/fleet/pickups/report", summary="On-time report of a month: per day, kecamatan and truck")
async def pickups_report(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings,
                         month: Annotated[str | None, Query(max_length=7, description="YYYY-MM")] = None,
                         kecamatan: svc.Kecamatan = None, kendaraan: svc.Kendaraan = None) -> Response:
    """Window occurrences by status (tepat waktu, terlambat, terlewat, belum waktunya) and the on-time %."""
    tz = _tz(settings)
    days = svc.month_days(month, tz)
    kec = await svc.kecamatan_kode(conn, kecamatan)
    vehicle = await svc.vehicle_of(conn, kendaraan)
    sched = pk.select(pk.scheduled(await fleet.sites(conn)), days, kec, vehicle)
    visits = await svc.site_pickups(fleet, heavy, conn, settings, sched, days, vehicle) if sched else {}
    rep = await heavy.run(pk.report, tz, sched, days, visits, datetime.now(tz))
    out = {"month": f"{days[0]:%Y-%m}", "kecamatan": kec, "kendaraan": vehicle["plat_nomor"] if vehicle else None,
           "sites": len(sched), **rep}
    if not sched:
        out["keterangan"] = svc.NO_JADWAL
    return _json(out)



# ---------------------------------------------------------------- exports: GPX, KML, CSV

def _export_range(settings: Settings, start: datetime | None, end: datetime | None, day: date | None
                  ) -> tuple[datetime, datetime]:
    lo, hi = _range(settings, start, end, day)
    if hi - lo > timedelta(days=settings.fleet_export_max_days):
        raise InvalidParameter("end", f"an export covers at most {settings.fleet_export_max_days} days")
    return lo, hi


async def _export(fleet: Fleet, heavy: Heavy, conn: psycopg.AsyncConnection, settings: Settings, vehicle_id: int,
                  start: datetime | None, end: datetime | None, day: date | None, render: Any
                  ) -> tuple[Any, str]:
    v = await _vehicle(conn, vehicle_id)
    lo, hi = _export_range(settings, start, end, day)
    rows = await _fixes(conn, v, lo, hi)
    sites = await fleet.sites(conn)
    rec = await heavy.run(exports.record, analysis.detection_config(settings), settings.fleet_track_gap_s, v, rows,
                          sites, lo, hi)
    body = await heavy.run(render, rec, _tz(settings))
    plate = "".join(ch for ch in v["plat_nomor"] if ch.isalnum())
    return body, f"jejak_{plate}_{lo.astimezone(_tz(settings)):%Y%m%d}"


VehicleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/fleet/vehicles/{vehicle_id}/track.gpx", summary="A truck's track, stops and visits as GPX 1.1",
            responses={200: {"content": {"application/gpx+xml": {}}}})
async def track_gpx(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, vehicle_id: VehicleId,
                    start: datetime | None = None, end: datetime | None = None, date: date | None = None
                    ) -> Response:
    """Track segments split where the signal dropped (every fix a timed trkpt); stops and visits as waypoints."""
    body, name = await _export(fleet, heavy, conn, settings, vehicle_id, start, end, date, exports.to_gpx)
    return Response(body, media_type="application/gpx+xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}.gpx"'})


@router.get("/fleet/vehicles/{vehicle_id}/track.kml", summary="A truck's track, trips, stops and visits as KML",
            responses={200: {"content": {"application/vnd.google-earth.kml+xml": {}}}})
async def track_kml(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, vehicle_id: VehicleId,
                    start: datetime | None = None, end: datetime | None = None, date: date | None = None
                    ) -> Response:
    """One Placemark per track part (LineString), trip, stop and visit, written by GDAL's KML driver."""
    body, name = await _export(fleet, heavy, conn, settings, vehicle_id, start, end, date, exports.to_kml)
    return Response(body, media_type="application/vnd.google-earth.kml+xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}.kml"'})


@router.get("/fleet/vehicles/{vehicle_id}/track.csv", summary="A truck's fixes, trips, stops and visits as CSV",
            responses={200: {"content": {"text/csv": {}}}})
async def track_csv(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, vehicle_id: VehicleId,
                    start: datetime | None = None, end: datetime | None = None, date: date | None = None
                    ) -> Response:
    """Rows of jenis titik (each fix), perjalanan, berhenti and kunjungan, times in WIB."""
    body, name = await _export(fleet, heavy, conn, settings, vehicle_id, start, end, date, exports.to_csv)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


# ---------------------------------------------------------------- driving events

async def _events(fleet: Fleet, heavy: Heavy, conn: psycopg.AsyncConnection, settings: Settings,
                  v: dict[str, Any], lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    rows = await _fixes(conn, v, lo, hi)
    kec = events.kecamatan_shapes(await fetch_all(conn, "fleet_kecamatan_geoms"))
    ev = events.EventConfig(settings.fleet_speed_limit_kmh, settings.fleet_idle_min_s)
    return await heavy.run(events.vehicle_events, _tz(settings), analysis.detection_config(settings), ev,
                           settings.fleet_track_gap_s, v, rows, await fleet.sites(conn), kec)


@router.get("/fleet/vehicles/{vehicle_id}/events", summary="A truck's driving events: speeding, idling, out of area")
async def vehicle_events(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, vehicle_id: VehicleId,
                         start: datetime | None = None, end: datetime | None = None, date: date | None = None
                         ) -> Response:
    """ngebut (above fleet_speed_limit_kmh), diam (a stop away from every site for fleet_idle_min_s) and
    keluar_wilayah (outside the assigned kecamatan), each with time and place."""
    v = await _vehicle(conn, vehicle_id)
    lo, hi = _export_range(settings, start, end, date)
    found = await _events(fleet, heavy, conn, settings, v, lo, hi)
    return _json({"vehicle_id": v["id"], "plat_nomor": v["plat_nomor"], "start": lo, "end": hi,
                  "batas_kecepatan_kmh": settings.fleet_speed_limit_kmh, "batas_diam_s": settings.fleet_idle_min_s,
                  "events": found})


@router.get("/fleet/events", summary="Driving events of every truck for a day")
async def fleet_events(fleet: Fleet, heavy: Heavy, conn: ReadConn, settings: AppSettings, date: date | None = None,
                       kendaraan: svc.Kendaraan = None) -> Response:
    """The day's driving events per vehicle (one vehicle with kendaraan=)."""
    d, lo, hi = _day_bounds(settings, date)
    one = await svc.vehicle_of(conn, kendaraan)
    out = []
    for v in [one] if one else await fetch_all(conn, "fleet_vehicles_list"):
        found = await _events(fleet, heavy, conn, settings, v, lo, hi)
        out.append({"vehicle_id": v["id"], "plat_nomor": v["plat_nomor"], "events": found})
    return _json({"date": d, "vehicles": out})


@router.get("/fleet/pickups/laporan", summary="Waste complaints of a day that coincide with a missed pickup")
async def pickups_laporan(conn: ReadConn, settings: AppSettings, date: date | None = None) -> Response:
    """Laporan whose routing evidence (alasan.pengangkutan) found the nearest TPS's pickup missed that day."""
    d, lo, hi = _day_bounds(settings, date)
    rows = await fetch_all(conn, "fleet_laporan_terlewat", {"lo": lo, "hi": hi})
    return _json({"date": d, "laporan": rows})
