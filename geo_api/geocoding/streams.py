"""Streaming batch reverse geocoding of files of any size: CSV, GeoJSON (FeatureCollection or sequence) and
GeoParquet in, the same formats out. Batches of `batch_rows` points, so memory stays bounded.

Rows with bad coordinates are kept, with an `error` and empty answer columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely

from geo_api.geocoding.batch import BatchFormatError, _plain, annotate_table, lat_lon_columns
from geo_api.geocoding.reverse import ReverseIndex

FORMATS = {".csv": "csv", ".geojson": "geojson", ".json": "geojson", ".geojsonl": "geojsonseq",
           ".geojsons": "geojsonseq", ".ndjson": "geojsonseq", ".parquet": "parquet", ".geoparquet": "parquet"}


@dataclass
class StreamStats:
    """What a streaming run did."""

    rows: int = 0
    errors: int = 0


def file_format(path: Path, given: str | None = None) -> str:
    """csv / geojson / geojsonseq / parquet, from --format or the file extension."""
    fmt = given or FORMATS.get(path.suffix.lower())
    if fmt not in set(FORMATS.values()):
        raise BatchFormatError(f"cannot tell the format of {path.name}; use .csv, .geojson, .geojsonl or .parquet "
                               "(or --format)")
    return fmt


def read_batches(path: Path, fmt: str, batch_rows: int) -> Iterator[tuple[pa.Table, str, str, int]]:
    """Yield (table, lat column, lon column, bytes read so far) per batch."""
    if fmt == "csv":
        yield from _read_csv(path, batch_rows)
    elif fmt == "parquet":
        yield from _read_parquet(path, batch_rows)
    else:
        yield from _read_ogr(path, batch_rows)


def _read_csv(path: Path, batch_rows: int) -> Iterator[tuple[pa.Table, str, str, int]]:
    with open(path, "rb") as fh:
        header = fh.readline().decode("utf-8-sig").strip()
    names = pacsv.read_csv(pa.py_buffer(header.encode() + b"\n")).column_names
    lat_col, lon_col = lat_lon_columns(names)
    # Every column as text: a stray word in a number column must mark its row, not stop the file.
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
    fh = pa.OSFile(str(path), "rb")
    reader = pacsv.open_csv(fh, read_options=pacsv.ReadOptions(block_size=8 << 20), convert_options=convert)
    pending: list[pa.RecordBatch] = []
    count = 0
    for rb in reader:
        pending.append(rb)
        count += rb.num_rows
        if count >= batch_rows:
            yield pa.Table.from_batches(pending), lat_col, lon_col, fh.tell()
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending), lat_col, lon_col, fh.tell()
    fh.close()


def _read_parquet(path: Path, batch_rows: int) -> Iterator[tuple[pa.Table, str, str, int]]:
    pf = pq.ParquetFile(path)
    geo = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}") or b"{}")
    geom_col = geo.get("primary_column")
    total = path.stat().st_size
    done_rows, all_rows = 0, max(pf.metadata.num_rows, 1)
    for rb in pf.iter_batches(batch_size=batch_rows):
        table = pa.Table.from_batches([rb])
        done_rows += rb.num_rows
        if geom_col and geom_col in table.column_names:
            yield *_with_xy(table, geom_col), int(total * done_rows / all_rows)
        else:
            yield table, *lat_lon_columns(table.column_names), int(total * done_rows / all_rows)


def _read_ogr(path: Path, batch_rows: int) -> Iterator[tuple[pa.Table, str, str, int]]:
    from pyogrio.raw import open_arrow

    total = path.stat().st_size
    with open_arrow(path, batch_size=batch_rows, use_pyarrow=True) as (meta, reader):
        geom_col = meta.get("geometry_name") or "wkb_geometry"
        n_done, n_all = 0, None
        for rb in reader:
            table = pa.Table.from_batches([rb])
            n_done += rb.num_rows
            est = int(total * min(n_done / n_all, 1.0)) if n_all else min(total, n_done * 200)
            yield *_with_xy(table, geom_col), est


def _with_xy(table: pa.Table, geom_col: str) -> tuple[pa.Table, str, str]:
    """Add _lon/_lat columns from a WKB point column (NaN where the geometry is not a point)."""
    geoms = shapely.from_wkb(table[geom_col].to_numpy(zero_copy_only=False), on_invalid="ignore")
    is_pt = shapely.get_type_id(geoms) == 0
    x = np.where(is_pt, shapely.get_x(geoms), np.nan)
    y = np.where(is_pt, shapely.get_y(geoms), np.nan)
    table = table.append_column("_lon", pa.array(x)).append_column("_lat", pa.array(y))
    return table, "_lat", "_lon"


class _Writer:
    """Writes answered batches in one format."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        self._w = None
        self._fh = None
        self._first = True

    def write(self, table: pa.Table) -> None:
        """Append one answered batch."""
        geom = self._geometry(table)
        if self.fmt == "csv" and "_lat" in table.column_names:
            # From a geometry source: CSV has no geometry type, so the point becomes lat/lon columns.
            table = table.drop_columns([c for c in ("wkb_geometry", "geometry", "lat", "lon")
                                        if c in table.column_names])
            table = table.rename_columns([{"_lat": "lat", "_lon": "lon"}.get(c, c) for c in table.column_names])
        table = table.drop_columns([c for c in ("_lon", "_lat") if c in table.column_names])
        if self.fmt == "csv":
            self._csv(table)
        elif self.fmt == "parquet":
            self._parquet(table, geom)
        else:
            self._geojson(table, geom)

    def _geometry(self, table: pa.Table) -> np.ndarray:
        lat_col = "_lat" if "_lat" in table.column_names else lat_lon_columns(table.column_names)[0]
        lon_col = "_lon" if "_lon" in table.column_names else lat_lon_columns(table.column_names)[1]
        from geo_api.geocoding.batch import to_float

        return np.column_stack([to_float(table[lon_col]), to_float(table[lat_col])])

    def _csv(self, table: pa.Table) -> None:
        table = _plain(table)
        if self._w is None:
            self._schema = table.schema
            self._w = pacsv.CSVWriter(str(self.path), table.schema)
        self._w.write_table(table.cast(self._schema) if table.schema != self._schema else table)

    def _parquet(self, table: pa.Table, xy: np.ndarray) -> None:
        ok = np.isfinite(xy).all(axis=1)
        wkb = shapely.to_wkb(np.where(ok, shapely.points(xy), None))
        for c in ("geometry", "wkb_geometry"):
            if c in table.column_names:
                table = table.drop_columns([c])
        table = _plain(table).append_column("geometry", pa.array(wkb, type=pa.binary()))
        if self._w is None:
            geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {
                "geometry": {"encoding": "WKB", "geometry_types": ["Point"], "crs": None}}}
            schema = table.schema.with_metadata({b"geo": json.dumps(geo).encode()})
            self._w = pq.ParquetWriter(str(self.path), schema)
        self._w.write_table(table.cast(self._w.schema))

    def _geojson(self, table: pa.Table, xy: np.ndarray) -> None:
        if self._fh is None:
            self._fh = open(self.path, "wb")
            if self.fmt == "geojson":
                self._fh.write(b'{"type":"FeatureCollection","features":[\n')
        drop = [c for c in ("wkb_geometry", "geometry") if c in table.column_names]
        rows = _plain(table.drop_columns(drop)).to_pylist()
        sep = b"\n" if self.fmt == "geojsonseq" else b",\n"
        parts = []
        for (x, y), props in zip(xy.tolist(), rows, strict=True):
            geom = {"type": "Point", "coordinates": [x, y]} if x == x and y == y else None
            parts.append(orjson.dumps({"type": "Feature", "geometry": geom, "properties": props}))
        if parts:
            if not self._first and self.fmt == "geojson":
                self._fh.write(b",\n")
            self._fh.write(sep.join(parts))
            self._first = False

    def close(self) -> None:
        """Finish the file (closing brackets, Parquet footer)."""
        if self._w is not None:
            self._w.close()
        if self._fh is not None:
            self._fh.write(b"\n]}\n" if self.fmt == "geojson" else b"\n")
            self._fh.close()
        elif self.fmt in ("geojson", "geojsonseq"):
            self.path.write_bytes(b'{"type":"FeatureCollection","features":[]}\n' if self.fmt == "geojson" else b"")


def reverse_file(index: ReverseIndex, src: Path, dst: Path, *, src_format: str | None = None,
                 dst_format: str | None = None, batch_rows: int = 262_144,
                 progress: Callable[[int, int], None] | None = None) -> StreamStats:
    """Answer every point of `src` into `dst`, batch by batch; `progress(bytes_read, rows_done)` per batch."""
    fin, fout = file_format(src, src_format), file_format(dst, dst_format)
    stats = StreamStats()
    writer = _Writer(dst, fout)
    try:
        for table, lat_col, lon_col, pos in read_batches(src, fin, batch_rows):
            answered, n_err = annotate_table(index, table, lat_col, lon_col)
            writer.write(answered)
            stats.rows += table.num_rows
            stats.errors += n_err
            if progress:
                progress(pos, stats.rows)
    finally:
        writer.close()
    return stats
