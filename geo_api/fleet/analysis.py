"""Per-vehicle detection for the fleet reports: plain functions on fetched rows, run in a worker thread.

Trip, stop and visit detection is CPU work (NumPy over a day of fixes per truck); the routers hand it to
`Services.heavy` so the event loop that acknowledges GPS fixes never runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from geo_api.settings import Settings
from ingestion import trips as det


def detection_config(settings: Settings, dwell_s: float | None = None) -> det.DetectionConfig:
    """Traccar's stop/trip parameters from the settings (`dwell_s` overrides the visit dwell)."""
    return det.DetectionConfig(
        stop_radius_m=settings.fleet_stop_radius_m, stop_min_duration_s=settings.fleet_stop_min_duration_s,
        split_gap_s=settings.fleet_split_gap_s, min_trip_distance_m=settings.fleet_min_trip_distance_m,
        min_trip_duration_s=settings.fleet_min_trip_duration_s,
        dwell_s=settings.fleet_visit_dwell_s if dwell_s is None else dwell_s)


def track_of(rows: Sequence[dict[str, Any]]) -> det.Track:
    """A Track from fleet_fixes rows (t, lat, lon)."""
    return det.Track.from_rows([(r["t"], r["lat"], r["lon"]) for r in rows])


def clock(tz: ZoneInfo, epoch: float | None) -> str | None:
    """An epoch as a local ISO time (None stays None)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=tz).isoformat(timespec="seconds")


def stop_json(tz: ZoneInfo, s: det.Stop) -> dict[str, Any]:
    """A stop as the API answers it."""
    return {"start": clock(tz, s.start), "end": clock(tz, s.end), "duration_s": round(s.duration),
            "lat": round(s.lat, 6), "lon": round(s.lon, 6), "fixes": s.j - s.i + 1}


def trip_json(tz: ZoneInfo, t: det.Trip) -> dict[str, Any]:
    """A trip as the API answers it."""
    return {"start": clock(tz, t.start), "end": clock(tz, t.end), "duration_s": round(t.duration),
            "distance_m": round(t.distance_m), "start_lat": t.start_lat, "start_lon": t.start_lon,
            "end_lat": t.end_lat, "end_lon": t.end_lon}


def visit_json(tz: ZoneInfo, v: det.Visit) -> dict[str, Any]:
    """A site visit as the API answers it."""
    return {"site_fid": v.site.fid, "nama": v.site.nama, "jenis": v.site.jenis,
            "arrival": clock(tz, v.arrival), "departure": clock(tz, v.departure),
            "dwell_s": round(v.dwell), "inside": v.departure is None}


def vehicle_summary(tz: ZoneInfo, cfg: det.DetectionConfig, vehicle: dict[str, Any], rows: Sequence[dict[str, Any]],
                    sites: list[det.Site] | None, lo: datetime, hi: datetime) -> dict[str, Any]:
    """Distance, driving and stopped time, trips, stops and visits of one vehicle over [lo, hi)."""
    tr = track_of(rows)
    s = det.summarise(tr, sites or [], cfg)
    return {
        "vehicle_id": vehicle["id"], "plat_nomor": vehicle["plat_nomor"], "jenis": vehicle["jenis"],
        "start": lo, "end": hi, "fixes": len(tr), "distance_km": round(s.distance_m / 1000, 3),
        "driving_s": round(s.driving_s), "stopped_s": round(s.stopped_s), "sites_layer_published": sites is not None,
        "sites_visited": sorted({x.site.nama for x in s.visits}),
        "trips": [trip_json(tz, t) for t in s.trips],
        "stops": [stop_json(tz, x) for x in s.stops],
        "visits": [visit_json(tz, x) for x in s.visits],
    }


def vehicle_visits(tz: ZoneInfo, cfg: det.DetectionConfig, vehicle: dict[str, Any], rows: Sequence[dict[str, Any]],
                   sites: list[det.Site] | None) -> list[dict[str, Any]]:
    """One vehicle's site visits, each with its id and plate."""
    return [{"vehicle_id": vehicle["id"], "plat_nomor": vehicle["plat_nomor"], **visit_json(tz, x)}
            for x in det.site_visits(track_of(rows), sites or [], cfg)]
