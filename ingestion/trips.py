"""Trips, stops, tracks and disposal-site visits from a truck's good fixes (plain Python + numpy).

Parameters follow Traccar's reports and the issue: a stop is a run of fixes that all stay within
`stop_radius_m` (200 m) of the run's first fix for at least `stop_min_duration_s` (180 s); a gap in
fixes longer than `split_gap_s` (3600 s, Traccar's minimalNoDataDuration) ends any trip or stop; trips
are the moving stretches between stops, kept when they reach `min_trip_distance_m` (500 m, Traccar's
minimalTripDistance) or `min_trip_duration_s` (300 s). Geofence visits pair enter/exit events per site
and count when the truck stayed at least `dwell_s` inside, so a truck passing by is not a visit.
Input fixes must be sorted by time and already filtered (flag IS NULL).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Detection parameters (from Settings; defaults are Traccar's and the issue's)."""

    stop_radius_m: float = 200.0
    stop_min_duration_s: float = 180.0
    split_gap_s: float = 3600.0
    min_trip_distance_m: float = 500.0
    min_trip_duration_s: float = 300.0
    dwell_s: float = 60.0


@dataclass(slots=True)
class Track:
    """A truck's fixes as arrays: t (Unix s), lat, lon, and local metric x/y."""

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    x: np.ndarray = field(init=False)
    y: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        lat0 = float(np.mean(self.lat)) if len(self.lat) else -6.2
        self.x, self.y = project(self.lon, self.lat, lat0)

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[float, float, float]]) -> Track:
        """Build from (t, lat, lon) rows sorted by t."""
        arr = np.asarray(rows, dtype=float).reshape(-1, 3)
        return cls(arr[:, 0], arr[:, 1], arr[:, 2])


def project(lon: np.ndarray, lat: np.ndarray, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Local equirectangular metres around latitude lat0 (accurate to <0.1 % across a city)."""
    k = M_PER_DEG_LON_EQ * math.cos(math.radians(lat0))
    return np.asarray(lon, dtype=float) * k, np.asarray(lat, dtype=float) * M_PER_DEG_LAT


@dataclass(slots=True)
class Stop:
    """A stay: fixes i..j (inclusive) within the stop radius."""

    i: int
    j: int
    start: float
    end: float
    lat: float
    lon: float

    @property
    def duration(self) -> float:
        """Seconds stopped."""
        return self.end - self.start


@dataclass(slots=True)
class Trip:
    """A moving stretch between stops (or a gap): fixes i..j."""

    i: int
    j: int
    start: float
    end: float
    distance_m: float
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float

    @property
    def duration(self) -> float:
        """Seconds driving."""
        return self.end - self.start


def step_distances(track: Track) -> np.ndarray:
    """Metres between consecutive fixes (length n-1)."""
    return np.hypot(np.diff(track.x), np.diff(track.y))


def detect_stops(track: Track, cfg: DetectionConfig) -> list[Stop]:
    """Stays: every fix within stop_radius_m of the first for at least stop_min_duration_s, no long gap."""
    n = len(track)
    t, x, y = track.t.tolist(), track.x.tolist(), track.y.tolist()
    r2 = cfg.stop_radius_m ** 2
    stops: list[Stop] = []
    i = 0
    while i < n - 1:
        xi, yi = x[i], y[i]
        j = i + 1
        while j < n and (x[j] - xi) ** 2 + (y[j] - yi) ** 2 <= r2 and t[j] - t[j - 1] <= cfg.split_gap_s:
            j += 1
        if t[j - 1] - t[i] >= cfg.stop_min_duration_s:
            sl = slice(i, j)
            stops.append(Stop(i, j - 1, t[i], t[j - 1], float(np.mean(track.lat[sl])),
                              float(np.mean(track.lon[sl]))))
            i = j
        else:
            i += 1
    return stops


def detect_trips(track: Track, stops: Sequence[Stop], cfg: DetectionConfig) -> list[Trip]:
    """The moving stretches between stops, split at gaps longer than split_gap_s."""
    n = len(track)
    if n < 2:
        return []
    steps = step_distances(track)
    gaps = np.diff(track.t) > cfg.split_gap_s
    # Moving spans: from the end of one stop to the start of the next.
    bounds, cursor = [], 0
    for s in stops:
        if s.i > cursor:
            bounds.append((cursor, s.i))
        cursor = s.j
    if cursor < n - 1:
        bounds.append((cursor, n - 1))
    trips: list[Trip] = []
    for a, b in bounds:
        for lo, hi in _split_at_gaps(a, b, gaps):
            if hi <= lo:
                continue
            dist = float(steps[lo:hi].sum())
            dur = float(track.t[hi] - track.t[lo])
            if dist >= cfg.min_trip_distance_m or dur >= cfg.min_trip_duration_s:
                trips.append(Trip(lo, hi, float(track.t[lo]), float(track.t[hi]), dist,
                                  float(track.lat[lo]), float(track.lon[lo]),
                                  float(track.lat[hi]), float(track.lon[hi])))
    return trips


def _split_at_gaps(a: int, b: int, gaps: np.ndarray) -> list[tuple[int, int]]:
    cut = np.nonzero(gaps[a:b])[0] + a
    parts, lo = [], a
    for c in cut.tolist():
        parts.append((lo, c))
        lo = c + 1
    parts.append((lo, b))
    return parts


def track_parts(track: Track, gap_s: float) -> list[list[tuple[float, float]]]:
    """The track as lines of (lon, lat), broken where no fix came for gap_s (signal lost)."""
    if len(track) == 0:
        return []
    cut = np.nonzero(np.diff(track.t) > gap_s)[0] + 1
    parts = []
    for sl in np.split(np.arange(len(track)), cut):
        parts.append(list(zip(track.lon[sl].tolist(), track.lat[sl].tolist(), strict=True)))
    return parts


@dataclass(frozen=True, slots=True)
class Site:
    """A disposal site's geofence: a polygon, or a point with a radius (metres)."""

    fid: str
    nama: str
    jenis: str
    geom: BaseGeometry
    radius_m: float = 0.0
    jadwal: str | None = None  # collection schedule as typed (ingestion.jadwal); None: not scheduled
    kendaraan: str | None = None  # plate of the truck that serves it, when the layer says
    kecamatan_kode: str | None = None  # the kecamatan the site lies in


@dataclass(slots=True)
class Visit:
    """A stay inside a site's geofence: arrival, departure (None if still inside) and dwell."""

    site: Site
    arrival: float
    departure: float | None
    last_inside: float

    @property
    def dwell(self) -> float:
        """Seconds inside (to the last fix inside when the truck has not left yet)."""
        return (self.departure if self.departure is not None else self.last_inside) - self.arrival


def inside_mask(track: Track, site: Site) -> np.ndarray:
    """Which fixes lie inside the site's geofence."""
    lat0 = float(np.mean(track.lat)) if len(track) else -6.2
    if site.geom.geom_type == "Point":
        sx, sy = project(np.array([site.geom.x]), np.array([site.geom.y]), lat0)
        return np.hypot(track.x - sx[0], track.y - sy[0]) <= site.radius_m
    return shapely.contains_xy(site.geom, track.lon, track.lat)


def site_visits(track: Track, sites: Sequence[Site], cfg: DetectionConfig) -> list[Visit]:
    """Enter/exit events per site paired into visits of at least dwell_s; a long gap ends a visit."""
    visits: list[Visit] = []
    if len(track) == 0:
        return visits
    t = track.t
    for site in sites:
        mask = inside_mask(track, site)
        if not mask.any():
            continue
        visits.extend(_runs_to_visits(site, mask, t, cfg))
    visits.sort(key=lambda v: v.arrival)
    return visits


def _runs_to_visits(site: Site, mask: np.ndarray, t: np.ndarray, cfg: DetectionConfig) -> list[Visit]:
    out: list[Visit] = []
    n = len(mask)
    edges = np.diff(mask.astype(np.int8))
    starts = (np.nonzero(edges == 1)[0] + 1).tolist()
    ends = (np.nonzero(edges == -1)[0] + 1).tolist()  # index of the first fix outside
    if mask[0]:
        starts.insert(0, 0)
    if mask[-1]:
        ends.append(n)
    for a, b in zip(starts, ends, strict=True):
        for lo, hi in _split_run_at_gaps(t, a, b, cfg.split_gap_s):
            last_inside = float(t[hi - 1])
            departure = float(t[hi]) if hi < n and t[hi] - t[hi - 1] <= cfg.split_gap_s else None
            if departure is None and hi < n:
                departure = last_inside  # a gap after the last fix inside: left at some unknown time
            visit = Visit(site, float(t[lo]), departure, last_inside)
            if visit.dwell >= cfg.dwell_s:
                out.append(visit)
    return out


def _split_run_at_gaps(t: np.ndarray, a: int, b: int, gap_s: float) -> list[tuple[int, int]]:
    cut = (np.nonzero(np.diff(t[a:b]) > gap_s)[0] + a + 1).tolist()
    edges = [a, *cut, b]
    return [(edges[k], edges[k + 1]) for k in range(len(edges) - 1)]


@dataclass(slots=True)
class DaySummary:
    """One truck's day: distance, driving and stopped time, stops, trips and visits."""

    distance_m: float
    driving_s: float
    stopped_s: float
    stops: list[Stop]
    trips: list[Trip]
    visits: list[Visit]


def summarise(track: Track, sites: Sequence[Site], cfg: DetectionConfig) -> DaySummary:
    """Everything the daily report needs, from one pass of each detector."""
    stops = detect_stops(track, cfg)
    trips = detect_trips(track, stops, cfg)
    visits = site_visits(track, sites, cfg)
    steps = step_distances(track) if len(track) > 1 else np.zeros(0)
    gaps = np.diff(track.t) > cfg.split_gap_s if len(track) > 1 else np.zeros(0, dtype=bool)
    return DaySummary(
        distance_m=float(steps[~gaps].sum()),
        driving_s=float(sum(tr.duration for tr in trips)),
        stopped_s=float(sum(s.duration for s in stops)),
        stops=stops, trips=trips, visits=visits,
    )
