"""Batch reverse geocoding on columns: the same answers as /geocode/reverse, as Arrow columns, and the
CSV / GeoJSON request bodies of POST /geocode/reverse/batch.

Bad rows never fail a batch: each gets an `error` and empty answer columns; the good rows are answered.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from geo_api.geocoding.reverse import DECISIONS, GAP, INSIDE, NEAREST_KABKOTA, OVERLAP, UNASSIGNED, ReverseIndex

ANSWER_COLUMNS = ("decision", "in_kota_tangerang", "desa_kel_kode", "desa_kel_nama", "kec_kode", "kec_nama",
                  "kab_kode", "kab_nama", "kodepos", "distance_m")
LAT_NAMES = ("lat", "latitude", "lintang", "y")
LON_NAMES = ("lon", "lng", "long", "longitude", "bujur", "x")


class BatchFormatError(ValueError):
    """The document itself cannot be read (not a row-level problem)."""


class TooManyPoints(ValueError):
    """More points than the configured limit."""


def answer_columns(index: ReverseIndex, lon: np.ndarray, lat: np.ndarray,
                   valid: np.ndarray | None = None) -> dict[str, pa.Array]:
    """Reverse-geocode the points and return the answer as Arrow columns (invalid rows left null)."""
    n = len(lon)
    valid = np.ones(n, dtype=bool) if valid is None else valid
    res = index.lookup(np.where(valid, lon, 0.0), np.where(valid, lat, 0.0))
    dec = res.decision
    # One "wilayah" list: kelurahan first, then the neighbouring desa; -1 where no desa/kelurahan is named.
    w = np.where(res.tetangga >= 0, len(index.kelurahan) + res.tetangga.astype(np.int32),
                 np.where(dec == UNASSIGNED, -1, res.kelurahan.astype(np.int32)))
    w[~valid] = -1
    kab = res.kabkota.astype(np.int32)
    kab[~valid] = -1
    wil = index.kelurahan + index.tetangga
    cols = {
        "decision": _dict(np.where(valid, dec.astype(np.int16), -1), list(DECISIONS)),
        "in_kota_tangerang": pa.array(np.isin(dec, (INSIDE, GAP, OVERLAP, UNASSIGNED)), mask=~valid),
        "desa_kel_kode": _dict(w, [x.kode for x in wil]),
        "desa_kel_nama": _dict(w, [x.nama for x in wil]),
        "kec_kode": _dict(w, [x.kec_kode for x in wil]),
        "kec_nama": _dict(w, [x.kec_nama for x in wil]),
        "kab_kode": _dict(kab, [x.kode for x in index.kabkota]),
        "kab_nama": _dict(kab, [x.nama for x in index.kabkota]),
        "kodepos": _dict(w, [x.kodepos for x in wil]),
    }
    dist = np.round(res.distance_m.astype(np.float64), 1)
    show = valid & np.isin(dec, (GAP, UNASSIGNED, NEAREST_KABKOTA))
    cols["distance_m"] = pa.array(dist, mask=~show)
    return cols


def _dict(indices: np.ndarray, values: list[Any]) -> pa.Array:
    """A dictionary-encoded string column: cheap to build for millions of rows."""
    idx = pa.array(indices.astype(np.int32), mask=indices < 0)
    return pa.DictionaryArray.from_arrays(idx, pa.array(values, type=pa.string()))


def validate_points(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: valid flag and an error text ('' when fine); NaN means missing or not a number."""
    errors = np.full(len(lon), "", dtype=object)
    bad_lat_nan, bad_lon_nan = ~np.isfinite(lat), ~np.isfinite(lon)
    errors[bad_lon_nan] = "lon is missing or not a number"
    errors[bad_lat_nan] = "lat is missing or not a number"
    with np.errstate(invalid="ignore"):
        lat_range = np.isfinite(lat) & (np.abs(lat) > 90)
        lon_range = np.isfinite(lon) & (np.abs(lon) > 180)
        swapped = lat_range & (np.abs(lon) <= 90)
    errors[lon_range] = "lon out of range [-180, 180]"
    errors[lat_range] = "lat out of range [-90, 90]"
    errors[swapped] = "lat out of range [-90, 90]; lat and lon look swapped"
    return errors == "", errors


def _find(names: list[str], wanted: tuple[str, ...]) -> str | None:
    lower = {n.strip().lower(): n for n in names}
    return next((lower[w] for w in wanted if w in lower), None)


def lat_lon_columns(names: list[str]) -> tuple[str, str]:
    """Pick the latitude and longitude columns of a table by their usual names."""
    lat, lon = _find(names, LAT_NAMES), _find(names, LON_NAMES)
    if not lat or not lon:
        raise BatchFormatError(f"need a latitude column ({'/'.join(LAT_NAMES)}) and a longitude column "
                               f"({'/'.join(LON_NAMES)}); found {', '.join(names[:20])}")
    return lat, lon


def to_float(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A string or numeric column as float64, NaN where empty or not a number."""
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
        return np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    import pandas as pd
    import pyarrow.compute as pc

    try:  # the fast path: every value parses (nulls become NaN)
        return np.asarray(pc.cast(pc.utf8_trim_whitespace(col), pa.float64()).to_numpy(zero_copy_only=False),
                          dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    return pd.to_numeric(pd.Series(col.to_pandas(), dtype="string").str.strip(), errors="coerce") \
        .to_numpy(dtype=np.float64, na_value=np.nan)


def annotate_table(index: ReverseIndex, table: pa.Table, lat_col: str, lon_col: str) -> tuple[pa.Table, int]:
    """The table with answer columns and `error` appended (existing answer columns replaced)."""
    lat, lon = to_float(table[lat_col]), to_float(table[lon_col])
    valid, errors = validate_points(lon, lat)
    cols = answer_columns(index, lon, lat, valid)
    for name in (*ANSWER_COLUMNS, "error"):
        if name in table.column_names:
            table = table.drop_columns([name])
    for name, arr in cols.items():
        table = table.append_column(name, arr)
    n_err = int((~valid).sum())
    table = table.append_column("error", pa.array(errors.tolist(), type=pa.string()) if n_err else
                                pa.nulls(len(lat), pa.string()))
    return table, n_err


def answer_csv_bytes(index: ReverseIndex, body: bytes, limit: int) -> tuple[bytes, int]:
    """Answer a CSV body (header row; lat/lon columns by name); returns the CSV answer and the error count."""
    if not body.strip():
        raise BatchFormatError("the CSV body is empty")
    try:
        table = pacsv.read_csv(pa.BufferReader(body), convert_options=pacsv.ConvertOptions(
            column_types=None, strings_can_be_null=True, auto_dict_encode=False),
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=False))
    except pa.ArrowInvalid as exc:
        raise BatchFormatError(f"the CSV cannot be read: {str(exc).splitlines()[0]}") from None
    if table.num_rows > limit:
        raise TooManyPoints(f"{table.num_rows} rows; at most {limit} points per batch (use the CLI for more)")
    lat_col, lon_col = lat_lon_columns(table.column_names)
    out, n_err = annotate_table(index, table, lat_col, lon_col)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(_plain(out), sink)
    return sink.getvalue().to_pybytes(), n_err


def _plain(table: pa.Table) -> pa.Table:
    """Decode dictionary columns (the CSV writer wants plain strings)."""
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


def answer_geojson_bytes(index: ReverseIndex, body: bytes, limit: int) -> tuple[bytes, int]:
    """Answer a GeoJSON FeatureCollection of Points; each Feature's properties get the answer (or `error`)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BatchFormatError(f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(
            doc.get("features"), list):
        raise BatchFormatError("expected a GeoJSON FeatureCollection with a `features` array")
    feats = doc["features"]
    if len(feats) > limit:
        raise TooManyPoints(f"{len(feats)} features; at most {limit} points per batch (use the CLI for more)")
    lon, lat, pre = _feature_points(feats)
    valid, errors = validate_points(lon, lat)
    for i, e in pre.items():
        errors[i], valid[i] = e, False
    table = pa.table(answer_columns(index, lon, lat, valid))
    rows = _plain(table).to_pylist()
    out = []
    for i, feat in enumerate(feats):
        props = dict(feat.get("properties") or {}) if isinstance(feat, dict) else {}
        props.update(rows[i] if valid[i] else {"error": errors[i]})
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        out.append({"type": "Feature", "geometry": geom, "properties": props})
    n_err = int((~valid).sum())
    return orjson.dumps({"type": "FeatureCollection", "features": out, "errors": n_err}), n_err


def _feature_points(feats: list[Any]) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    n = len(feats)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    errors: dict[int, str] = {}
    for i, feat in enumerate(feats):
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            errors[i] = "feature has no Point geometry"
            continue
        c = geom.get("coordinates")
        if not isinstance(c, list) or len(c) < 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in c[:2]):
            errors[i] = "Point coordinates must be [lon, lat] numbers"
            continue
        lon[i], lat[i] = float(c[0]), float(c[1])
    return lon, lat, errors
