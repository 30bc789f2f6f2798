"""Bulk back-fill of positions from CSV or GPX: the same filters as live ingest, then COPY in chunks.

Both paths (`import_fixes` for any iterator of fixes, `import_csv_fast` for CSV through pandas/pyarrow) judge
each fix by the one specification in ingestion/fix_filters.py, in file order, starting from each device's
state in PostgreSQL (`seed_from_db`: its newest stored good fix and the good fixes already stored in the
file's time span), exactly as the live writer does per group commit. Each import writes one audit row
(fleet.import, with its counts) in the transaction of its last chunk, so an import that failed midway is not
in the log as done."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import date, timezone
from pathlib import Path

import psycopg

from geo_api.audit import Actor, record_sync
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
                 chunk: int = 50_000, now: float | None = None, actor: Actor | None = None,
                 source: str = "fixes") -> dict[str, int]:
    """Filter and COPY fixes of registered devices; one transaction per chunk, the last with the audit row
    (as `actor`, default the CLI user; `source` names the file). Returns counts by flag."""
    import time
    from datetime import datetime

    now = now or time.time()
    filt = FixFilter(config)
    ids: dict[str, int] = {}
    days_done: set[date] = set()
    counts: dict[str, int] = {"rows": 0, "good": 0}
    received = datetime.fromtimestamp(now, tz=timezone.utc).isoformat()
    buf: list[str] = []

    def flush(last: bool = False) -> None:
        if buf:
            with conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
                copy.write("".join(buf))
        if last:
            _audit(conn, actor, source, counts, list(ids.values()))
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
            filt.load(device_id, row["last_time"], row["last_lat"], row["last_lon"], stored_good(conn, device_id))
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
    flush(last=True)
    batch.commit()
    refresh_last(conn, list(ids.values()))
    return counts


def refresh_last(conn: psycopg.Connection, device_ids: list[int]) -> None:
    """Let the live view see back-filled fixes that are newer than what the devices last sent."""
    if device_ids:
        conn.execute(query("fleet_device_refresh_last"), {"ids": device_ids})
        conn.commit()


def stored_good(conn: psycopg.Connection, device_id: int, t_min: float | None = None,
                t_max: float | None = None) -> tuple:
    """The keys (fix_time, lat, lon) of a device's stored good fixes (within [t_min, t_max] when given):
    what the duplicate test compares a back-filled fix with, as the live writer does."""
    rows = conn.execute(query("fleet_filter_stored"), {"id": device_id, "t_min": t_min, "t_max": t_max}).fetchall()
    return tuple((r["t"], r["lat"], r["lon"]) for r in rows)


def import_csv_fast(conn: psycopg.Connection, path: Path, default_device: str | None, *,
                    config: FilterConfig | None = None, now: float | None = None,
                    actor: Actor | None = None) -> dict[str, int]:
    """Vectorised CSV back-fill (pandas/numpy): the same flags, computed per column, then one COPY.

    Differences from the live filters: a jump is a spike (too fast from the previous fix of the file and
    back to the next one), not judged against the previous good fix; duplicates are judged within the file."""
    import time

    import numpy as np
    import pandas as pd

    cfg = config or FilterConfig()
    now = now or time.time()
    try:
        df = pd.read_csv(path, engine="pyarrow", encoding="utf-8-sig")
    except Exception as exc:  # pyarrow's parse errors: say which file, not a traceback
        raise DataError(f"{path.name}: cannot read as CSV ({str(exc).splitlines()[0]})") from exc
    df.columns = [_CSV_ALIASES.get(str(c).strip().lower(), c) for c in df.columns]
    missing = {"time", "lat", "lon"} - set(df.columns)
    if missing:
        raise DataError(f"{path.name}: CSV needs columns {', '.join(sorted(missing))}")
    if "unique_id" not in df.columns:
        if not default_device:
            raise DataError(f"{path.name}: no device id (give --device or an id column)")
        df["unique_id"] = default_device
    df["unique_id"] = df["unique_id"].fillna(default_device or "").astype(str)
    ids = _device_ids(conn, df["unique_id"].unique().tolist())
    dev = df["unique_id"].map(ids).to_numpy(dtype=np.int64)
    t = _epoch_column(df["time"], path.name)
    num = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) if c in df.columns else None
           for c in ("lat", "lon", "speed", "course", "altitude", "accuracy", "hdop", "batt")}
    if np.isnan(num["lat"]).any() or np.isnan(num["lon"]).any():
        bad = int(np.flatnonzero(np.isnan(num["lat"]) | np.isnan(num["lon"]))[0]) + 2
        raise DataError(f"{path.name} line {bad}: lat/lon is not a number")
    flags = _spec_flags(conn, dev, t, num["lat"], num["lon"], cfg, now)
    for day in sorted(set((t[flags == ""] // 86400).astype(np.int64).tolist())):
        if -20000 < day < 80000:
            conn.execute(query("fleet_ensure_partition"), {"day": date.fromordinal(719163 + day)})
    payload = _csv_payload(dev, t, num, flags, now)
    with conn.cursor() as cur, cur.copy("COPY fleet.position (device_id, fix_time, received_at, lat, lon, speed_kn, "
                                        "course, altitude, accuracy, hdop, batt, flag) FROM STDIN (FORMAT csv)") as cp:
        cp.write(payload)
    counts = {"rows": len(t), "good": int((flags == "").sum())}
    for name, n in zip(*np.unique(flags[flags != ""], return_counts=True), strict=True):
        counts[str(name)] = int(n)
    _audit(conn, actor, path.name, counts, list(ids.values()))
    conn.commit()
    refresh_last(conn, list(ids.values()))
    return counts


def _audit(conn: psycopg.Connection, actor: Actor | None, source: str, counts: dict[str, int],
           device_ids: list[int]) -> None:
    """The import's audit row, in the transaction that commits its (last) rows (fleet.device ids, never the
    tracker's own identifier)."""
    record_sync(conn, action="fleet.import", target=f"fleet.import:{source}"[:200], actor=actor or Actor.cli(),
                after={**counts, "vehicle_device_ids": sorted(device_ids)[:100]})


def _csv_payload(dev, t, num, flags, now: float) -> bytes:
    """The COPY (FORMAT csv) payload, written by Arrow's C++ CSV writer (empty = NULL)."""
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    n = len(t)

    def col(values):
        if values is None:
            return pa.nulls(n, pa.float64())
        return pa.array(values, type=pa.float64(), from_pandas=True)

    ts = pa.timestamp("us", tz="UTC")
    table = pa.table({
        "device_id": pa.array(dev), "fix_time": pa.array(np.round(t * 1e6).astype(np.int64), type=ts),
        "received_at": pa.array(np.full(n, int(now * 1e6), dtype=np.int64), type=ts),
        "lat": col(num["lat"]), "lon": col(num["lon"]), "speed_kn": col(num["speed"]), "course": col(num["course"]),
        "altitude": col(num["altitude"]), "accuracy": col(num["accuracy"]), "hdop": col(num["hdop"]),
        "batt": col(num["batt"]),
        "flag": pa.array(flags, type=pa.string(), mask=flags == ""),
    })
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buf.getvalue()


def _device_ids(conn: psycopg.Connection, uniques: list[str]) -> dict[str, int]:
    found = {}
    for u in uniques:
        row = conn.execute(query("fleet_device_seed"), {"unique_id": u}).fetchone()
        if row is None:
            raise DataError(f"unknown device {u!r}: register it first (satupeta fleet device add)")
        found[u] = row["id"]
    return found


def _epoch_column(col, name: str):
    import numpy as np
    import pandas as pd

    numeric = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    if not np.isnan(numeric).any():
        return np.where(numeric < 2**31 - 1, numeric, numeric / 1000.0)
    try:
        parsed = pd.to_datetime(col, utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}: timestamp column: {exc}") from exc
    return parsed.to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6


def _spec_flags(conn: psycopg.Connection, dev, t, lat, lon, cfg: FilterConfig, now: float):
    """The flags of the specification (ingestion/fix_filters.py), in file order, from the devices' stored state."""
    import numpy as np

    filt = FixFilter(cfg)
    for d in np.unique(dev).tolist():
        ts = t[(dev == d) & (np.abs(t) < 1e11)]  # a span PostgreSQL stores (others are flagged anyway)
        row = conn.execute(query("fleet_device_state"), {"id": d}).fetchone()
        span = (float(ts.min()), float(ts.max())) if len(ts) else (0.0, -1.0)
        filt.load(d, row["last_time"], row["last_lat"], row["last_lon"], stored_good(conn, d, *span))
    batch = filt.batch()
    check = batch.check_values
    out = [check(d, tt, la, lo, True, now) or "" for d, tt, la, lo in
           zip(dev.tolist(), t.tolist(), lat.tolist(), lon.tolist(), strict=True)]
    return np.array(out, dtype=object).astype(str)
