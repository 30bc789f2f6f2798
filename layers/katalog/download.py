"""Whole-layer downloads: rows streamed from PostGIS in batches into GDAL (pyogrio.write_arrow, the driver named
explicitly), one cached file per layer version, format and CRS, written atomically; licence and attribution
inside the file (GeoPackage/GeoJSON/KML metadata) or beside it (the Shapefile zip's readme).

The same answers from every process sharing the folder (N workers, or several servers on one disk):
- a file is named by the layer's data stamp, and its rows are read in one REPEATABLE READ snapshot taken after
  locking the layer's relation and checking that the stamp in force is still the caller's (`Stale` otherwise:
  the caller's catalog is behind a re-publish made elsewhere), so a file's name always says what is in it;
- one builder per file at a time, across threads and processes (flock on `.locks/NAME.lock`); others wait and
  take its file; the file appears whole (os.replace) or not at all;
- each response is served from its own hard link (`serve_copy`, under `.serving/`), so the prune of an older
  version that a newer build runs cannot pull a file from under a response still sending it."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from pyogrio.raw import write_arrow
from pyproj import CRS

from geo_api.db import connect
from layers import gdal  # noqa: F401  (GDAL's network access off before any write)
from layers.catalog import GEOM, Collection
from sql import query

log = logging.getLogger("satupeta.katalog.unduh")

FORMATS = {"gpkg": ("GPKG", "application/geopackage+sqlite3"), "zip": ("ESRI Shapefile", "application/zip"),
           "geojson": ("GeoJSON", "application/geo+json"), "csv": ("CSV", "text/csv; charset=utf-8"),
           "kml": ("KML", "application/vnd.google-earth.kml+xml")}
REPROJECTABLE = ("gpkg", "zip")  # GeoJSON and KML are WGS 84 by definition; CSV carries WKT in WGS 84
BATCH = 10_000
_ARROW = {"integer": pa.int32(), "smallint": pa.int16(), "bigint": pa.int64(), "double precision": pa.float64(),
          "real": pa.float32(), "boolean": pa.bool_(), "date": pa.date32(), "text": pa.string()}
_OGR_TYPES = {"POINT": "Point", "MULTIPOINT": "MultiPoint", "LINESTRING": "LineString",
              "MULTILINESTRING": "MultiLineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon"}
SERVING_MAX_AGE_S = 6 * 3600.0  # a serving link older than this was left by a process that died mid-response


class Stale(Exception):
    """The layer's data changed since the caller read its catalog entry (a re-publish or load elsewhere)."""


def _arrow_type(pg_type: str) -> tuple[pa.DataType, str]:
    """The Arrow type of a column and the SQL cast that yields it."""
    if pg_type in _ARROW:
        return _ARROW[pg_type], ""
    if pg_type.startswith("numeric"):
        return pa.float64(), "::float8"
    if pg_type.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC") if "with time zone" in pg_type else pa.timestamp("us"), ""
    return pa.string(), "::text"


def shapefile_names(names: list[str]) -> dict[str, str]:
    """Column -> DBF field name (10 characters): the first 10, and on a clash the first 8 + '_' + a digit or two."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        short = name[:10]
        n = 1
        while short.lower() in used:
            suffix = f"_{n}"
            short = name[:10 - len(suffix)] + suffix
            n += 1
        used.add(short.lower())
        out[name] = short
    return out


def cache_path(root: Path, coll: Collection, fmt: str, srid: int) -> Path:
    """Where the file of this layer version, format and CRS is cached."""
    stamp = re.sub(r"[^0-9A-Za-z_-]", "_", coll.stamp)
    return root / f"{coll.id}__{stamp}__{srid}.{fmt}"


def _select(coll: Collection, srid: int, cols: list[tuple[str, str]]) -> sql.Composable:
    parts = [sql.SQL("{}{}").format(sql.Identifier(name), sql.SQL(cast)) for name, cast in cols]
    if coll.has_geometry:
        g = sql.Identifier(GEOM) if srid == 4326 else sql.SQL("ST_Transform({}, {})").format(
            sql.Identifier(GEOM), sql.Literal(srid))
        parts.append(sql.SQL("ST_AsBinary({})").format(g))
    return sql.SQL("SELECT {} FROM {} ORDER BY {}").format(sql.SQL(", ").join(parts), coll.table,
                                                          sql.Identifier(coll.pk))


def _batches(conn: psycopg.Connection, query: sql.Composable, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Rows from a server-side cursor, BATCH at a time: never the whole layer in memory."""
    with conn.cursor(name="unduh", row_factory=psycopg.rows.tuple_row) as cur:
        cur.itersize = BATCH
        cur.execute(query)
        while rows := cur.fetchmany(BATCH):
            cols = list(zip(*rows, strict=True))
            yield pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)],
                                             schema=schema)


def _notice(coll: Collection) -> str:
    return (f"{coll.title}. Lisensi: {coll.licence or 'lihat metadata'}. Atribusi: {coll.attribution}. "
            f"Sumber: Satu Peta Kota Tangerang, /ogc/collections/{coll.id}.")


def _write(conn: psycopg.Connection, coll: Collection, fmt: str, srid: int, target: Path,
           names: dict[str, str]) -> None:
    cols = [(c.name, _arrow_type(c.type)) for c in coll.columns]
    fields = [pa.field(names.get(n, n), t) for n, (t, _) in cols]
    if coll.has_geometry:
        fields.append(pa.field("geometry", pa.binary()))
    schema = pa.schema(fields)
    reader = pa.RecordBatchReader.from_batches(schema, _batches(conn, _select(coll, srid, [(n, c) for n, (_, c) in
                                                                                          cols]), schema))
    driver = FORMATS[fmt][0]
    notice = _notice(coll)
    kw: dict[str, Any] = {"driver": driver, "layer": coll.id, "encoding": "UTF-8"}
    if coll.has_geometry:
        kw.update(geometry_name="geometry", geometry_type="Unknown" if fmt in ("gpkg", "geojson", "csv")
                  else _OGR_TYPES.get((coll.geometry_type or "").upper(), "Unknown"), crs=CRS.from_epsg(srid).to_wkt())
    if fmt == "gpkg":
        kw["layer_metadata"] = {"DESCRIPTION": notice, "LICENCE": coll.licence, "ATTRIBUTION": coll.attribution}
        kw["layer_options"] = {"DESCRIPTION": notice[:1000], "IDENTIFIER": coll.title[:200]}
    elif fmt == "geojson":
        kw["layer_options"] = {"DESCRIPTION": notice, "RFC7946": "YES", "WRITE_NAME": "YES"}
    elif fmt == "csv":
        kw["layer_options"] = {"GEOMETRY": "AS_WKT"} if coll.has_geometry else {}
    elif fmt == "kml":
        kw["dataset_options"] = {"DOCUMENT_ID": coll.id}
    if fmt == "csv" and not coll.has_geometry:
        kw.pop("geometry_name", None)
    write_arrow(reader, str(target), **kw)


def _readme(coll: Collection, srid: int, names: dict[str, str]) -> str:
    lines = [f"{coll.title} ({coll.id})", "", _notice(coll), "",
             f"Sistem koordinat: EPSG:{srid} (lihat berkas .prj); pengodean atribut: UTF-8 (berkas .cpg).", "",
             "Nama kolom DBF (paling banyak 10 karakter; 10 karakter pertama, bila bentrok 8 karakter + _n):"]
    lines += [f"  {short:<10}  <-  {name}" for name, short in names.items()]
    return "\n".join(lines) + "\n"


def _zip_shapefile(conn: psycopg.Connection, coll: Collection, srid: int, target: Path) -> None:
    names = shapefile_names([c.name for c in coll.columns])
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".shp-") as tmp:
        shp = Path(tmp) / f"{coll.id}.shp"
        _write(conn, coll, "zip", srid, shp, names)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)
            zf.writestr(f"{coll.id}_BACA.txt", _readme(coll, srid, names))


def _add_kml_description(path: Path, coll: Collection) -> None:
    """Put the licence and attribution into the KML Document (GDAL's KML driver has no option for it)."""
    from xml.sax.saxutils import escape

    tmp = path.with_suffix(".kml.part")
    done = False
    with path.open("r", encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
        for line in src:
            if not done and "<Document" in line:
                head, _, rest = line.partition(">")
                line = (f"{head}><name>{escape(coll.title)}</name><description>{escape(_notice(coll))}"
                        f"</description>{rest}")
                done = True
            dst.write(line)
    os.replace(tmp, path)


@contextlib.contextmanager
def _exclusive(root: Path, name: str) -> Iterator[None]:
    """Hold the builder's lock of one file: across threads and processes that share the folder (flock)."""
    locks = root / ".locks"
    locks.mkdir(exist_ok=True)
    with (locks / f"{name}.lock").open("a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_stamp(conn: psycopg.Connection, collection_id: str) -> str | None:
    """The data stamp in force of a collection (None: unknown or unpublished)."""
    with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        cur.execute(query("katalog_unduh_stamp"), {"id": collection_id})
        row = cur.fetchone()
    return row[0] if row else None


def _snapshot_of(conn: psycopg.Connection, coll: Collection) -> None:
    """In a fresh REPEATABLE READ transaction: lock the relation (a re-publish's view swap waits for us, or we for
    it), then check that the stamp in force is the caller's; the rows read next are exactly that version's."""
    conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(coll.table))
    if current_stamp(conn, coll.id) != coll.stamp:
        raise Stale(coll.id)


def build(settings: Any, coll: Collection, fmt: str, srid: int) -> Path:
    """The cached download file (built now if absent), one builder across threads and processes; runs in a
    worker thread. `Stale` when the layer changed since `coll` was read (reload the catalog and ask again)."""
    root = Path(settings.katalog_download_dir)
    root.mkdir(parents=True, exist_ok=True)
    path = cache_path(root, coll, fmt, srid)
    if path.exists():
        return path
    with _exclusive(root, path.name):
        if path.exists():  # another thread or process built it while we waited
            return path
        fd, tmp_name = tempfile.mkstemp(dir=root, prefix=f".{coll.id}-", suffix=f".{fmt}")
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()  # GDAL creates the file itself
        try:
            with connect(settings, autocommit=True) as conn:
                conn.execute("SET statement_timeout = 0")
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                with conn.transaction():
                    _snapshot_of(conn, coll)
                    if fmt == "zip":
                        _zip_shapefile(conn, coll, srid, tmp)
                    else:
                        _write(conn, coll, fmt, srid, tmp, {})
            if fmt == "kml":
                _add_kml_description(tmp, coll)
            os.replace(tmp, path)  # readers see the whole file or none
        finally:
            tmp.unlink(missing_ok=True)
        _prune(root, coll, path)
    log.info("download built: %s", path.name)
    return path


def serve_copy(settings: Any, coll: Collection, fmt: str, srid: int) -> Path:
    """A private hard link to the cached file (built now if absent), whole for as long as the response sends it;
    the caller removes it with `release`. `Stale` when a newer version's build pruned the file meanwhile."""
    path = build(settings, coll, fmt, srid)
    serving = path.parent / ".serving"
    serving.mkdir(exist_ok=True)
    link = serving / f"{uuid.uuid4().hex}__{path.name}"
    try:
        os.link(path, link)
    except FileNotFoundError:
        raise Stale(coll.id) from None
    return link


def release(link: Path) -> None:
    """Remove a serving link once its response is sent (the cached file itself stays)."""
    link.unlink(missing_ok=True)


def _prune(root: Path, coll: Collection, keep: Path) -> None:
    """Remove this layer's files of earlier versions (their stamp differs)."""
    stamp = keep.name.rsplit("__", 2)[1]
    for old in [*root.glob(f"{coll.id}__*"), *(root / ".locks").glob(f"{coll.id}__*.lock")]:
        parts = old.name.rsplit("__", 2)
        if len(parts) == 3 and parts[0] == coll.id and parts[1] != stamp:
            old.unlink(missing_ok=True)  # a response still sending it reads its own link (serve_copy)
    cutoff = time.time() - SERVING_MAX_AGE_S
    for link in (root / ".serving").glob("*__*"):
        with contextlib.suppress(OSError):
            if link.lstat().st_ctime < cutoff:  # ctime: the inode's last link or unlink
                link.unlink()
