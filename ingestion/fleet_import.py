"""Bulk back-fill of positions from CSV or GPX: the same filters as live ingest, then COPY in chunks."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import date, timezone
from pathlib import Path

import psycopg

from geo_api.errors import DataError
from ingestion.fix_filters import FilterConfig, FixFilter
from ingestion.fleet_writer import COPY_SQL, copy_line
from ingestion.osmand import DecodeError, Fix, parse_timestamp
from sql import query

_CSV_ALIASES = {"id": "unique_id", "deviceid": "unique_id", "device_id": "unique_id", "device": "unique_id",
                "timestamp": "time", "time": "time", "fix_time": "time", "lat": "lat", "latitude": "lat",
                "lon": "lon", "lng": "lon", "longitude": "lon", "speed": "speed", "bearing": "course",
                "heading": "course", "course": "course", "altitude": "altitude", "ele": "altitude",
                "accuracy": "accuracy", "hdop": "hdop", "batt": "batt"}


def read_csv(path: Path, default_device: str | None) -> Iterator[Fix]:
    """Fixes from a CSV with a header (id/deviceid, timestamp, lat, lon, speed in knots, bearing, ...)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = {c: _CSV_ALIASES.get(c.strip().lower()) for c in reader.fieldnames or []}
        missing = {"time", "lat", "lon"} - set(cols.values())
        if missing:
            raise DataError(f"{path.name}: CSV needs columns {', '.join(sorted(missing))}")
        for n, row in enumerate(reader, start=2):
            vals = {cols[k]: v for k, v in row.items() if cols.get(k) and v not in (None, "")}
            unique = vals.get("unique_id") or default_device
            if not unique:
                raise DataError(f"{path.name} line {n}: no device id (give --device or an id column)")
            try:
                yield Fix(unique, parse_timestamp(vals["time"]), float(vals["lat"]), float(vals["lon"]),
                          speed_kn=_f(vals.get("speed")), course=_f(vals.get("course")),
                          altitude=_f(vals.get("altitude")), accuracy=_f(vals.get("accuracy")),
                          hdop=_f(vals.get("hdop")), batt=_f(vals.get("batt")))
            except (KeyError, ValueError, DecodeError) as exc:
                raise DataError(f"{path.name} line {n}: {exc}") from exc


def _f(v: str | None) -> float | None:
    return float(v) if v not in (None, "") else None


def read_gpx(path: Path, device: str) -> Iterator[Fix]:
    """Fixes from the track points (and waypoints with time) of a GPX file."""
    try:
        tree = ET.parse(path)
    except ET.ParseError as exc:
        raise DataError(f"{path.name}: not valid GPX ({exc})") from exc
    for el in tree.iter():
        if el.tag.rsplit("}", 1)[-1] not in ("trkpt", "rtept", "wpt"):
            continue
        t = next((c.text for c in el if c.tag.rsplit("}", 1)[-1] == "time"), None)
        ele = next((c.text for c in el if c.tag.rsplit("}", 1)[-1] == "ele"), None)
        if t is None:
            continue
        try:
            yield Fix(device, parse_timestamp(t.strip()), float(el.attrib["lat"]), float(el.attrib["lon"]),
                      altitude=_f(ele))
        except (KeyError, ValueError, DecodeError) as exc:
            raise DataError(f"{path.name}: bad point ({exc})") from exc


def import_fixes(conn: psycopg.Connection, fixes: Iterable[Fix], *, config: FilterConfig | None = None,
                 chunk: int = 50_000, now: float | None = None) -> dict[str, int]:
    """Filter and COPY fixes of registered devices; one transaction per chunk. Returns counts by flag."""
    import time
    from datetime import datetime

    now = now or time.time()
    filt = FixFilter(config)
    ids: dict[str, int] = {}
    days_done: set[date] = set()
    counts: dict[str, int] = {"rows": 0, "good": 0}
    received = datetime.fromtimestamp(now, tz=timezone.utc).isoformat()
    buf: list[str] = []

    def flush() -> None:
        with conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
            copy.write("".join(buf))
        conn.commit()
        buf.clear()

    batch = filt.batch()
    for fix in fixes:
        device_id = ids.get(fix.unique_id)
        if device_id is None:
            row = conn.execute(query("fleet_device_seed"), {"unique_id": fix.unique_id}).fetchone()
            if row is None:
                raise DataError(f"unknown device {fix.unique_id!r}: register it first (satupeta fleet device add)")
            device_id = ids[fix.unique_id] = row["id"]
            filt.seed(device_id, row["last_time"], row["last_lat"], row["last_lon"])
        flag = batch.check(device_id, fix, now)
        if flag is None and -1e10 < fix.fix_time < 1e11:
            day = datetime.fromtimestamp(fix.fix_time, tz=timezone.utc).date()
            if day not in days_done:
                conn.execute(query("fleet_ensure_partition"), {"day": day})
                days_done.add(day)
        counts["rows"] += 1
        counts[flag or "good"] = counts.get(flag or "good", 0) + 1
        buf.append(copy_line(device_id, fix, received, flag))
        if len(buf) >= chunk:
            flush()
    if buf:
        flush()
    batch.commit()
    return counts
