"""A truck's track, trips, stops and visits as GPX (gpxpy), KML (GDAL's KML driver through pyogrio) and CSV.

Plain functions on fetched fixes, run in a worker thread. Files are written into a private temporary
directory under names of ours; GDAL is given the driver by name, never asked to guess.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import gpxpy.gpx
import pyogrio
import shapely

from geo_api.fleet.analysis import clock, track_of
from ingestion import trips as det


@dataclass(slots=True)
class Record:
    """What one export carries: the vehicle, its fixes as a track, and what detection found in them."""

    vehicle: dict[str, Any]
    track: det.Track
    parts: list[tuple[int, int]]  # index ranges [lo, hi) of the track broken at gaps
    summary: det.DaySummary
    start: datetime
    end: datetime


def record(cfg: det.DetectionConfig, gap_s: float, vehicle: dict[str, Any], rows: Sequence[dict[str, Any]],
           sites: Sequence[det.Site] | None, start: datetime, end: datetime) -> Record:
    """Detect trips, stops and visits in the fixes and split the track where the signal dropped for gap_s."""
    tr = track_of(rows)
    cuts = [0, *[i + 1 for i in range(len(tr) - 1) if tr.t[i + 1] - tr.t[i] > gap_s], len(tr)]
    parts = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    return Record(vehicle, tr, parts, det.summarise(tr, sites or [], cfg), start, end)


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def _title(rec: Record, tz: ZoneInfo) -> str:
    return (f"{rec.vehicle['plat_nomor']} {rec.start.astimezone(tz):%Y-%m-%d %H:%M} s.d. "
            f"{rec.end.astimezone(tz):%Y-%m-%d %H:%M} WIB")


def to_gpx(rec: Record, tz: ZoneInfo) -> bytes:
    """GPX 1.1: one track whose segments are the track parts (each fix a trkpt with its time); stops and
    site visits as waypoints."""
    g = gpxpy.gpx.GPX()
    g.creator = "Satu Peta Kota Tangerang - Si Lacak"
    g.name = f"Jejak {_title(rec, tz)}"
    for s in rec.summary.stops:
        g.waypoints.append(gpxpy.gpx.GPXWaypoint(
            s.lat, s.lon, time=_utc(s.start), name=f"Berhenti {clock(tz, s.start)[11:16]}",
            description=f"berhenti {round(s.duration / 60)} menit, {clock(tz, s.start)} - {clock(tz, s.end)}",
            type="stop"))
    for v in rec.summary.visits:
        c = v.site.geom.centroid
        g.waypoints.append(gpxpy.gpx.GPXWaypoint(
            c.y, c.x, time=_utc(v.arrival), name=v.site.nama,
            description=f"kunjungan {v.site.jenis} {clock(tz, v.arrival)} - "
                        f"{clock(tz, v.departure) or 'masih di dalam'}",
            type="visit"))
    trk = gpxpy.gpx.GPXTrack(name=rec.vehicle["plat_nomor"])
    t, lat, lon = rec.track.t.tolist(), rec.track.lat.tolist(), rec.track.lon.tolist()
    for a, b in rec.parts:
        seg = gpxpy.gpx.GPXTrackSegment()
        seg.points = [gpxpy.gpx.GPXTrackPoint(lat[i], lon[i], time=_utc(t[i])) for i in range(a, b)]
        trk.segments.append(seg)
    g.tracks.append(trk)
    return g.to_xml(version="1.1").encode("utf-8")


def _kml_frame(rec: Record, tz: ZoneInfo) -> gpd.GeoDataFrame:
    names, descs, kinds, begins, ends, geoms = [], [], [], [], [], []

    def add(name: str, desc: str, kind: str, b: float, e: float | None, geom: Any) -> None:
        names.append(name)
        descs.append(desc)
        kinds.append(kind)
        begins.append(clock(tz, b))
        ends.append(clock(tz, e))
        geoms.append(geom)

    lon, lat, t = rec.track.lon, rec.track.lat, rec.track.t
    for k, (a, b) in enumerate(rec.parts):
        coords = list(zip(lon[a:b].tolist(), lat[a:b].tolist(), strict=True))
        geom = shapely.LineString(coords) if len(coords) >= 2 else shapely.Point(coords[0])
        add(f"Jejak {k + 1}", f"{b - a} titik GPS", "jejak", float(t[a]), float(t[b - 1]), geom)
    for tr in rec.summary.trips:
        add(f"Perjalanan {clock(tz, tr.start)[11:16]}", f"{tr.distance_m / 1000:.1f} km", "perjalanan", tr.start,
            tr.end, shapely.LineString([(tr.start_lon, tr.start_lat), (tr.end_lon, tr.end_lat)]))
    for s in rec.summary.stops:
        add(f"Berhenti {clock(tz, s.start)[11:16]}", f"{round(s.duration / 60)} menit", "berhenti", s.start, s.end,
            shapely.Point(s.lon, s.lat))
    for v in rec.summary.visits:
        add(v.site.nama, f"kunjungan {v.site.jenis}, {round(v.dwell / 60)} menit", "kunjungan", v.arrival,
            v.departure, v.site.geom.centroid)
    return gpd.GeoDataFrame({"Name": names, "Description": descs, "jenis": kinds, "mulai": begins,
                             "selesai": ends}, geometry=geoms, crs=4326)


def to_kml(rec: Record, tz: ZoneInfo) -> bytes:
    """KML (GDAL's KML driver): the track parts as LineStrings, trips, stops and visits, each a Placemark."""
    gdf = _kml_frame(rec, tz)
    with tempfile.TemporaryDirectory(prefix="satupeta-kml-") as tmp:
        path = Path(tmp) / "jejak.kml"
        if len(gdf):
            pyogrio.write_dataframe(gdf, path, driver="KML", layer=rec.vehicle["plat_nomor"],
                                    geometry_type="Unknown")
        else:  # no fixes: an empty document, still a valid KML
            pyogrio.write_dataframe(gdf.set_geometry(gpd.GeoSeries([], crs=4326)), path, driver="KML",
                                    layer=rec.vehicle["plat_nomor"], geometry_type="Point")
        return path.read_bytes()


CSV_COLUMNS = ("jenis", "plat_nomor", "mulai", "selesai", "lat", "lon", "nama", "durasi_s", "jarak_m")


def to_csv(rec: Record, tz: ZoneInfo) -> str:
    """One row per fix (jenis `titik`), then trips, stops and visits, all in WIB."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    plate = rec.vehicle["plat_nomor"]
    for t, la, lo in zip(rec.track.t.tolist(), rec.track.lat.tolist(), rec.track.lon.tolist(), strict=True):
        w.writerow(["titik", plate, clock(tz, t), "", la, lo, "", "", ""])
    for tr in rec.summary.trips:
        w.writerow(["perjalanan", plate, clock(tz, tr.start), clock(tz, tr.end), tr.start_lat, tr.start_lon, "",
                    round(tr.duration), round(tr.distance_m)])
    for s in rec.summary.stops:
        w.writerow(["berhenti", plate, clock(tz, s.start), clock(tz, s.end), round(s.lat, 6), round(s.lon, 6), "",
                    round(s.duration), ""])
    for v in rec.summary.visits:
        c = v.site.geom.centroid
        w.writerow(["kunjungan", plate, clock(tz, v.arrival), clock(tz, v.departure), round(c.y, 6),
                    round(c.x, 6), v.site.nama, round(v.dwell), ""])
    return buf.getvalue()
