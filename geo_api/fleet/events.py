"""Driving events DLH asks about, from a truck's good fixes (pure; run in a worker thread).

- `ngebut` (speeding): the speed implied between consecutive fixes above `fleet_speed_limit_kmh`; consecutive
  fast steps are one event with its top speed.
- `diam` (idling): a stop (Traccar's stop definition, as trips.detect_stops) of at least `fleet_idle_min_s`
  outside every disposal site's geofence; the day's first and last stop are the depot and not counted.
- `keluar_wilayah` (out of area): fixes outside the vehicle's assigned kecamatan for at least a minute;
  each event names the kecamatan it entered first and every kecamatan it crossed.
Each event has its start, end, duration and place (lat, lon of its first fix, or the stop's centre).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo_api.fleet.analysis import clock, track_of
from ingestion import trips as det

MIN_OUTSIDE_S = 60.0


@dataclass(frozen=True, slots=True)
class EventConfig:
    """Thresholds (from Settings)."""

    speed_limit_kmh: float
    idle_min_s: float


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True as [a, b) index pairs."""
    if not mask.any():
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(), strict=True))


def speeding(tr: det.Track, limit_kmh: float, gap_s: float) -> list[dict[str, Any]]:
    """Runs of steps faster than the limit (steps across a signal gap are not judged)."""
    if len(tr) < 2:
        return []
    dt = np.diff(tr.t)
    kmh = np.where(dt > 0, det.step_distances(tr) / np.maximum(dt, 1e-9) * 3.6, 0.0)
    fast = (kmh > limit_kmh) & (dt <= gap_s)
    out = []
    for a, b in _runs(fast):  # steps a..b-1 join fixes a..b
        out.append({"jenis": "ngebut", "start": float(tr.t[a]), "end": float(tr.t[b]),
                    "lat": float(tr.lat[a]), "lon": float(tr.lon[a]),
                    "kecepatan_maks_kmh": round(float(kmh[a:b].max()), 1), "batas_kmh": limit_kmh})
    return out


def idling(tr: det.Track, sites: Sequence[det.Site], cfg: det.DetectionConfig, idle_min_s: float
           ) -> list[dict[str, Any]]:
    """Long stops away from every site (not the day's first or last stop: the depot)."""
    stops = det.detect_stops(tr, cfg)
    out = []
    for s in stops[1:-1]:
        if s.duration < idle_min_s:
            continue
        here = det.Track(np.array([0.0]), np.array([s.lat]), np.array([s.lon]))
        if any(det.inside_mask(here, site)[0] for site in sites):
            continue
        out.append({"jenis": "diam", "start": s.start, "end": s.end, "lat": round(s.lat, 6), "lon": round(s.lon, 6),
                    "batas_s": idle_min_s})
    return out


def out_of_area(tr: det.Track, home: str | None, kecamatan: dict[str, tuple[str, BaseGeometry]]
                ) -> list[dict[str, Any]]:
    """Runs of fixes outside the home kecamatan for at least a minute, naming the kecamatan they were in."""
    if home is None or home not in kecamatan or len(tr) == 0:
        return []
    outside = ~shapely.contains_xy(kecamatan[home][1], tr.lon, tr.lat)
    out = []
    for a, b in _runs(outside):
        if tr.t[b - 1] - tr.t[a] < MIN_OUTSIDE_S:
            continue
        first = []
        for kode, (nama, g) in kecamatan.items():
            inside = np.nonzero(shapely.contains_xy(g, tr.lon[a:b], tr.lat[a:b]))[0] if kode != home else []
            if len(inside):
                first.append((int(inside[0]), nama))
        crossed = [nama for _, nama in sorted(first)]
        out.append({"jenis": "keluar_wilayah", "start": float(tr.t[a]), "end": float(tr.t[b - 1]),
                    "lat": float(tr.lat[a]), "lon": float(tr.lon[a]), "kecamatan_tugas": kecamatan[home][0],
                    "berada_di": crossed[0] if crossed else "luar Kota Tangerang", "kecamatan_dilalui": crossed})
    return out


def vehicle_events(tz: ZoneInfo, cfg: det.DetectionConfig, ev: EventConfig, gap_s: float,
                   vehicle: dict[str, Any], rows: Sequence[dict[str, Any]], sites: Sequence[det.Site] | None,
                   kecamatan: dict[str, tuple[str, BaseGeometry]]) -> list[dict[str, Any]]:
    """Every driving event of one vehicle, by start time, times in the fleet's zone."""
    tr = track_of(rows)
    found = (speeding(tr, ev.speed_limit_kmh, gap_s) + idling(tr, sites or [], cfg, ev.idle_min_s)
             + out_of_area(tr, vehicle.get("kecamatan_kode"), kecamatan))
    found.sort(key=lambda e: e["start"])
    for e in found:
        e["durasi_s"] = round(e["end"] - e["start"])
        e["start"], e["end"] = clock(tz, e["start"]), clock(tz, e["end"])
        e["lat"], e["lon"] = round(e["lat"], 6), round(e["lon"], 6)
        e["vehicle_id"], e["plat_nomor"] = vehicle["id"], vehicle["plat_nomor"]
    return found


def kecamatan_shapes(rows: Sequence[dict[str, Any]]) -> dict[str, tuple[str, BaseGeometry]]:
    """Kecamatan polygons by kode from (kode, nama, wkb) rows, prepared for point tests."""
    out = {}
    for r in rows:
        g = shapely.from_wkb(bytes(r["wkb"]))
        shapely.prepare(g)
        out[r["kode"]] = (r["nama"], g)
    return out
