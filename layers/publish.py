"""Publishing an OPD layer file: safe unpacking, reading (pyogrio), CRS, geometry repair, column mapping,
and an atomic, versioned switch of the view published."<id>" (the previous version serves until commit)."""

from __future__ import annotations

import logging
import re
import shutil
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
import orjson
import pandas as pd
import psycopg
import pyogrio
import shapely
from psycopg import sql
from pyproj import CRS, Transformer

from geo_api.audit import Actor, record_by
from geo_api.db import fetch_one
from geo_api.errors import (
    BadRequest,
    DataError,
    InvalidParameter,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from geo_api.settings import get_settings
from ingestion import jadwal
from layers import gdal
from layers.katalog import store as katalog_store

log = logging.getLogger("satupeta.layers.publish")

LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
FORMATS = ("geojson", "gpkg", "shapefile", "csv")
_EXT = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shapefile", ".csv": "csv"}
_SHP_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg"}
_MAX_ZIP_ENTRIES = 200
_MAX_RATIO = 200  # compression ratio beyond which an entry is treated as a zip bomb
_RESERVED = {"fid", "geom"}
_FAMILY = {"Point": "Point", "MultiPoint": "Point", "LineString": "LineString", "MultiLineString": "LineString",
           "LinearRing": "LineString", "Polygon": "Polygon", "MultiPolygon": "Polygon"}
_REPORT_ITEMS = 200  # per list in the report; counts are always complete


@dataclass(frozen=True)
class Limits:
    """Size limits of one upload (from settings)."""

    upload_bytes: int
    unpacked_bytes: int
    max_columns: int
    max_features: int

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """The limits configured in Settings."""
        return cls(settings.layers_upload_max_mb << 20, settings.layers_unpacked_max_mb << 20,
                   settings.layers_max_columns, settings.layers_max_features)


@dataclass
class LayerMeta:
    """Metadata of a layer as given by the publishing OPD."""

    id: str
    title: str
    opd: str
    description: str = ""
    licence: str = ""
    attribution: str = ""
    published_by: str = ""

    def validate(self) -> None:
        """Check the id and required fields (422 naming the field)."""
        if not LAYER_ID.match(self.id or ""):
            raise InvalidParameter("id", "id must be 1-48 characters: lowercase letters, digits, _ (letter first)")
        for name in ("title", "opd"):
            value = getattr(self, name)
            if not value or not value.strip() or len(value) > 300:
                raise InvalidParameter(name, f"{name} is required (at most 300 characters)")
        if not self.attribution.strip():  # every collection carries an attribution: the owning OPD's
            self.attribution = f"{self.opd.strip()}, Pemerintah Kota Tangerang"


@dataclass
class Prepared:
    """A layer file read, checked and converted: what goes into the new version table."""

    columns: list[tuple[str, str]]  # (column, PostgreSQL type)
    rows: list[tuple]  # attribute values ... , EWKB hex of the geometry
    geometry_type: str  # MultiPoint | MultiLineString | MultiPolygon
    source_file: str
    report: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- format and archives

def detect_format(path: Path, filename: str, fmt: str | None) -> str:
    """The file's format: given, else from its name, and always consistent with its first bytes."""
    if fmt is not None and fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}", extra={"parameter": "format"})
    fmt = fmt or _EXT.get(PurePosixPath(filename.lower()).suffix)
    if fmt is None:
        raise BadRequest(f"cannot tell the format of {filename[:80]!r}: use .geojson, .gpkg, .zip (Shapefile) "
                         "or .csv, or give format", extra={"parameter": "file"})
    head = path.read_bytes()[:16] if path.stat().st_size < 16 else path.open("rb").read(16)
    expected = {"gpkg": head.startswith(b"SQLite format 3\0"), "shapefile": head.startswith(b"PK\x03\x04"),
                "geojson": head.lstrip()[:1] in (b"{", b"\xef"), "csv": b"\0" not in head and len(head) > 0}
    if not expected[fmt]:
        raise BadRequest(f"the file is not a valid {fmt} file", extra={"parameter": "file"})
    return fmt


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not (p.is_absolute() or ".." in p.parts or re.match(r"^[A-Za-z]:", name) or name.startswith("/"))


def unpack_shapefile(archive: Path, workdir: Path, limits: Limits) -> Path:
    """Extract the one Shapefile of a zip safely (no paths outside, no bombs); return its .shp path."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, NotImplementedError, EOFError, OSError):
        raise BadRequest("the file is not a valid zip archive", extra={"parameter": "file"}) from None
    try:
        with zf:
            return _extract_shapefile(zf, workdir, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, RuntimeError) as exc:
        # a wrong CRC, corrupt deflate data, a truncated member, an encrypted or unknown compression
        raise DataError(f"the zip archive is damaged and cannot be unpacked: {str(exc)[:120]}",
                        extra={"parameter": "file"}) from None


def _extract_shapefile(zf: zipfile.ZipFile, workdir: Path, limits: Limits) -> Path:
    """The checked extraction of unpack_shapefile."""
    infos = zf.infolist()
    if len(infos) > _MAX_ZIP_ENTRIES:
        raise DataError(f"the archive has {len(infos)} entries; at most {_MAX_ZIP_ENTRIES}")
    for info in infos:
        if not _safe_member(info.filename):
            raise DataError(f"the archive has a path outside the archive: {info.filename[:100]!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError(f"the archive has a symbolic link: {info.filename[:100]!r}")
        if info.file_size > _MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1 << 20:
            raise DataError(f"{info.filename[:100]!r} expands {info.file_size // max(info.compress_size, 1)}"
                            "-fold: refused as a possible zip bomb")
    if sum(i.file_size for i in infos) > limits.unpacked_bytes:
        raise PayloadTooLarge(f"the archive unpacks to more than {limits.unpacked_bytes >> 20} MB")
    shps = [i for i in infos if i.filename.lower().endswith(".shp") and not i.is_dir()]
    if len(shps) != 1:
        raise DataError(f"the archive must hold exactly one .shp file, it holds {len(shps)}")
    stem = shps[0].filename[:-4]
    parts = {i.filename[len(stem):].lower(): i for i in infos if i.filename[:-4] == stem
             or i.filename.lower().startswith(stem.lower() + ".")}
    for needed in (".shx", ".dbf"):
        if needed not in parts:
            raise DataError(f"the Shapefile lacks its {needed} file")
    if ".prj" not in parts:
        raise DataError("the Shapefile has no .prj file: its coordinate reference system is unknown "
                        "(add the .prj; we do not guess)")
    budget = limits.unpacked_bytes
    for ext, info in parts.items():
        if ext not in _SHP_PARTS:
            continue
        target = workdir / f"layer{ext}"  # our own name: nothing from the archive names a path
        with zf.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(1 << 20):
                budget -= len(chunk)
                if budget < 0:  # the header may lie about sizes: count what really comes out
                    raise PayloadTooLarge(f"the archive unpacks to more than {limits.unpacked_bytes >> 20} MB")
                dst.write(chunk)
    gdal.check_shapefile_parts(workdir / "layer.shp", workdir / "layer.shx")
    for part in sorted(workdir.iterdir()):
        gdal.refuse_indirection(part, "shapefile")
    return workdir / "layer.shp"


# ---------------------------------------------------------------- reading

_CSV_OPTIONS = {"X_POSSIBLE_NAMES": "lon,lng,long,longitude,bujur,x", "Y_POSSIBLE_NAMES": "lat,latitude,lintang,y",
                "KEEP_GEOM_COLUMNS": "NO", "AUTODETECT_TYPE": "YES"}


def _read_info(path: Path, fmt: str, source_layer: str | None) -> tuple[dict[str, Any], str | None]:
    name = gdal.source_name(path, fmt)  # the format's one driver, never one guessed from the content
    try:
        layers = pyogrio.list_layers(name)
        if fmt == "gpkg" and source_layer is None:
            if len(layers) != 1:
                names = ", ".join(str(n) for n in layers[:, 0][:20])
                raise DataError(f"the GeoPackage has {len(layers)} layers ({names}); name one with source_layer")
            source_layer = str(layers[0, 0])
        opts = _CSV_OPTIONS if fmt == "csv" else {}
        info = pyogrio.read_info(name, layer=source_layer, **opts)
    except DataError:
        raise
    except Exception as exc:  # GDAL's errors for unreadable or foreign files
        raise DataError(f"the file cannot be read as {fmt}: {str(exc)[:200]}", extra={"parameter": "file"}) from None
    gdal.check_driver(info, fmt)
    return info, source_layer


def read_layer(path: Path, fmt: str, limits: Limits, *, source_layer: str | None = None,
               csv_crs: str = "EPSG:4326") -> tuple[Any, str]:
    """Read the file into a GeoDataFrame after checking its size, columns and CRS; returns (gdf, crs text)."""
    info, source_layer = _read_info(path, fmt, source_layer)
    if len(info["fields"]) > limits.max_columns:
        raise DataError(f"the layer has {len(info['fields'])} attribute columns; at most {limits.max_columns}")
    if info["features"] > limits.max_features:
        raise DataError(f"the layer has {info['features']} features; at most {limits.max_features}")
    if info["features"] == 0:
        raise DataError("the layer has no features")
    if info.get("geometry_type") is None:
        raise DataError("the layer has no geometry" + (": a CSV needs coordinate columns lon/lat, "
                        "longitude/latitude, bujur/lintang or x/y" if fmt == "csv" else ""),
                        extra={"parameter": "file"})
    crs_text = info.get("crs")
    if fmt == "csv":
        crs_text = csv_crs  # CSV has no CRS of its own: the publisher states it (default WGS 84 lon/lat)
    if not crs_text:
        raise DataError("the layer has no coordinate reference system (missing .prj or CRS metadata)")
    try:
        crs = CRS.from_user_input(crs_text)
    except Exception:
        raise DataError(f"unknown coordinate reference system {str(crs_text)[:80]!r}") from None
    try:
        opts = _CSV_OPTIONS if fmt == "csv" else {}
        gdf = pyogrio.read_dataframe(gdal.source_name(path, fmt), layer=source_layer, **opts)
    except Exception as exc:
        raise DataError(f"the file cannot be read as {fmt}: {str(exc)[:200]}", extra={"parameter": "file"}) from None
    if not hasattr(gdf, "geometry") or "geometry" not in gdf:
        raise DataError("the layer has no geometry (for CSV: columns lon/lat, longitude/latitude or x/y)")
    gdf = gdf.set_crs(crs, allow_override=True)
    return gdf, crs.to_string()


# ---------------------------------------------------------------- columns

def safe_column_names(names: list[str]) -> list[str]:
    """Map attribute names to unique, plain lowercase column names (a-z, 0-9, _), never fid or geom."""
    used: set[str] = set()
    out = []
    for raw in names:
        s = unicodedata.normalize("NFKD", str(raw)).encode("ascii", "ignore").decode().lower()
        s = re.sub(r"[^a-z0-9_]+", "_", s).strip("_") or "kolom"
        if not s[0].isalpha():
            s = "k_" + s
        s = s[:48]
        if s in _RESERVED:
            s += "_asli"
        base, n = s, 2
        while s in used:
            s = f"{base[:44]}_{n}"
            n += 1
        used.add(s)
        out.append(s)
    return out


def _pg_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double precision"
    if kind == "M":
        return "timestamptz" if getattr(series.dtype, "tz", None) else "timestamp"
    return "text"


def _python_values(series: pd.Series, pg: str) -> list[Any]:
    if pg.startswith("timestamp"):
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    if pg == "text":
        return [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else
                (v.isoformat() if hasattr(v, "isoformat") else str(v)).replace("\0", "") for v in series]
    return [None if pd.isna(v) else v for v in series.tolist()]


# ---------------------------------------------------------------- geometries

def crs_bounds(crs: CRS) -> tuple[float, float, float, float]:
    """The coordinates (x/y order) a CRS can validly hold: its area of use in its own units, widened."""
    if crs.is_geographic:
        return (-180.0, -90.0, 180.0, 90.0)
    west, south, east, north = crs.area_of_use.bounds if crs.area_of_use else (-180.0, -90.0, 180.0, 90.0)
    try:
        t = Transformer.from_crs("OGC:CRS84", crs, always_xy=True)
        x0, y0, x1, y1 = t.transform_bounds(west, max(south, -85.0), east, min(north, 85.0), densify_pts=21)
    except Exception:  # a CRS pyproj cannot transform to: only finiteness is checked
        return (-np.inf, -np.inf, np.inf, np.inf)
    pad = 0.5 * max(x1 - x0, y1 - y0)  # data may reach a little past the official area of use
    b = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    return b if all(np.isfinite(b)) else (-np.inf, -np.inf, np.inf, np.inf)


def outside_crs(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Which geometries (in `crs`) have a coordinate outside that CRS's valid range."""
    x0, y0, x1, y1 = crs_bounds(crs)
    with np.errstate(invalid="ignore"):
        b = shapely.bounds(geoms)
        return (b[:, 0] < x0) | (b[:, 1] < y0) | (b[:, 2] > x1) | (b[:, 3] > y1)


def repair_geometries(geoms: np.ndarray, outside: np.ndarray | None = None,
                      crs_name: str = "") -> tuple[np.ndarray, str, list[dict], list[dict]]:
    """Make each geometry valid (or reject it, with the reason); all of one family, promoted to Multi*."""
    geoms = shapely.force_2d(geoms)
    outside = np.zeros(len(geoms), dtype=bool) if outside is None else outside
    types = [None if g is None or g.is_empty else _FAMILY.get(g.geom_type) for g in geoms]
    families = [t for t in types if t]
    if not families:
        raise DataError("no feature has a usable geometry")
    family = max(set(families), key=families.count)
    out = np.empty(len(geoms), dtype=object)
    repaired: list[dict] = []
    rejected: list[dict] = []
    bad_coords = ~np.array([g is None or g.is_empty or bool(np.isfinite(shapely.get_coordinates(g)).all())
                            for g in geoms])
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            rejected.append({"feature": i, "reason": "geometri kosong"})
            continue
        if bad_coords[i]:
            rejected.append({"feature": i, "reason": "koordinat tidak terhingga"})
            continue
        if outside[i]:
            rejected.append({"feature": i, "reason": f"koordinat di luar batas sah CRS {crs_name}"})
            continue
        b = g.bounds
        if b[0] < -180 or b[2] > 180 or b[1] < -90 or b[3] > 90:
            rejected.append({"feature": i, "reason": "koordinat di luar jangkauan WGS 84 (CRS salah?)"})
            continue
        if types[i] != family:
            rejected.append({"feature": i, "reason": f"jenis geometri {g.geom_type} berbeda dari {family}"})
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            fixed = _only_family(shapely.make_valid(g), family)
            if fixed is None:
                rejected.append({"feature": i, "reason": f"geometri tidak valid dan tak dapat diperbaiki: {reason}"})
                continue
            repaired.append({"feature": i, "reason": reason})
            g = fixed
        out[i] = g
    return out, "Multi" + family, repaired, rejected


def _only_family(g: Any, family: str) -> Any:
    parts = [p for p in shapely.get_parts(g) if _FAMILY.get(p.geom_type) == family and not p.is_empty]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    if not parts:
        return None
    if family == "Polygon":
        return shapely.MultiPolygon(parts)
    if family == "LineString":
        return shapely.MultiLineString(parts)
    return shapely.MultiPoint(parts)


# ---------------------------------------------------------------- prepare (pure, CPU)

def prepare(path: Path, filename: str, workdir: Path, limits: Limits, *, fmt: str | None = None,
            source_layer: str | None = None, csv_crs: str = "EPSG:4326") -> Prepared:
    """Read, check and convert a layer file; raises 4xx errors and publishes nothing."""
    fmt = detect_format(path, filename, fmt)
    if fmt == "shapefile":
        source = unpack_shapefile(path, workdir, limits)
    else:
        gdal.refuse_indirection(path, fmt)
        # our own file name, never the uploader's: nothing from the request reaches GDAL but the content
        source = workdir / f"layer.{ {'geojson': 'geojson', 'gpkg': 'gpkg', 'csv': 'csv'}[fmt] }"
        shutil.copyfile(path, source)
    gdf, crs_text = read_layer(source, fmt, limits, source_layer=source_layer, csv_crs=csv_crs)
    # (1e30, 1e30) in EPSG:3857 would come out of the transform as (-180, 90): judge it where it was given
    outside = outside_crs(np.asarray(gdf.geometry.array, dtype=object), gdf.crs)
    if not gdf.crs.equals(CRS.from_epsg(4326)) and not gdf.crs.equals(CRS.from_user_input("OGC:CRS84")):
        gdf = gdf.to_crs(4326)
    geoms, geometry_type, repaired, rejected = repair_geometries(np.asarray(gdf.geometry.array, dtype=object),
                                                                 outside, crs_text)
    keep = np.array([g is not None for g in geoms])
    if not keep.any():
        raise DataError("every feature was rejected; nothing published",
                        extra={"report": {"rejected": rejected[:_REPORT_ITEMS], "rejected_count": len(rejected)}})
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    names = safe_column_names(list(attrs.columns))
    types = [_pg_type(attrs[c]) for c in attrs.columns]
    values = [_python_values(attrs[c], t) for c, t in zip(attrs.columns, types, strict=True)]
    wkb = shapely.to_wkb(shapely.set_srid(geoms[keep], 4326), hex=True, include_srid=True)
    idx = np.nonzero(keep)[0]
    rows = [tuple(col[i] for col in values) + (wkb[k],) for k, i in enumerate(idx)]
    report = {
        "format": fmt, "source_crs": crs_text, "features_in": int(len(gdf)), "published": len(rows),
        "columns": [{"source": str(s), "column": n, "type": t}
                    for s, n, t in zip(attrs.columns, names, types, strict=True)],
        "repaired_count": len(repaired), "repaired": repaired[:_REPORT_ITEMS],
        "rejected_count": len(rejected), "rejected": rejected[:_REPORT_ITEMS],
    }
    # the client's name is a label: its last part after / or a backslash (a Windows client's path), never a path of ours
    return Prepared(list(zip(names, types, strict=True)), rows, geometry_type, PureWindowsPath(filename).name[:200],
                    report)


# ---------------------------------------------------------------- the atomic switch (async, one transaction)

async def _point_view(conn: psycopg.AsyncConnection, layer_id: str, table_name: str) -> None:
    view = sql.Identifier("published", layer_id)
    # Swapping the view needs an exclusive lock; while we wait for it, new readers queue behind us.
    # Give up quickly instead (a long reader holds it): the old version keeps serving, the caller retries.
    await conn.execute("SET LOCAL lock_timeout = '5s'")
    select = sql.SQL("SELECT * FROM {}").format(sql.Identifier("published", table_name))
    try:
        # Same columns (or new ones at the end): replace in place, so views of other modules that
        # read this layer (routing rules) keep working.
        async with conn.transaction():
            await conn.execute(sql.SQL("CREATE OR REPLACE VIEW {} AS {}").format(view, select))
        return
    except (psycopg.errors.InvalidTableDefinition, psycopg.errors.DatatypeMismatch,
            psycopg.errors.FeatureNotSupported):
        pass  # the columns changed: the view must be recreated
    try:
        await conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
    except psycopg.errors.DependentObjectsStillExist as exc:
        raise _in_use(layer_id, exc) from None
    await conn.execute(sql.SQL("CREATE VIEW {} AS {}").format(view, select))


def _in_use(layer_id: str, exc: Exception) -> DataError:
    return DataError(f"layer {layer_id!r} is used by other database objects (e.g. routing rules); keep its "
                     f"columns compatible or remove those uses first: {exc.diag.message_detail or exc}"[:500])


async def publish(conn: psycopg.AsyncConnection, prep: Prepared, meta: LayerMeta,
                  actor: Actor | None = None, metadata: dict[str, Any] | None = None,
                  settings: Any = None) -> dict[str, Any]:
    """Write a new version table and make it live in one transaction with its audit row (actor: the CLI user
    when not given) and its catalogue record (`metadata`: checked elements given by the publisher, kept from the
    previous version otherwise); returns id, version, report and the record's missing elements."""
    meta.validate()
    jadwal.check_layer([c for c, _ in prep.columns], prep.rows)  # a site's collection schedule must parse
    actor = actor or Actor.cli()
    meta.published_by = meta.published_by or actor.name
    try:
        return await _publish(conn, prep, meta, actor, metadata or {}, settings)
    except psycopg.errors.LockNotAvailable as exc:
        raise _busy(exc) from None


async def _publish(conn: psycopg.AsyncConnection, prep: Prepared, meta: LayerMeta, actor: Actor,
                   metadata: dict[str, Any], settings: Any) -> dict[str, Any]:
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = '10min'")
        if (await fetch_one(conn, "layers_is_bundled", {"id": meta.id}))["taken"]:
            raise InvalidParameter("id", f"{meta.id!r} is a bundled layer; choose another id")
        before = await fetch_one(conn, "layers_layer_get", {"id": meta.id})
        await fetch_one(conn, "layers_layer_upsert", vars(meta))
        await fetch_one(conn, "layers_layer_get", {"id": meta.id})  # lock: one publish of a layer at a time
        version = (await fetch_one(conn, "layers_next_version", {"id": meta.id}))["version"]
        table = f"{meta.id}__v{version}"
        await _create_and_fill(conn, table, prep)
        await _point_view(conn, meta.id, table)
        await fetch_one(conn, "layers_version_insert", {
            "id": meta.id, "version": version, "table_name": table, "feature_count": len(prep.rows),
            "source_file": prep.source_file, "published_by": meta.published_by,
            "report": orjson.dumps(prep.report).decode()})
        await _set_current(conn, meta.id, version, prep.geometry_type)
        record = await katalog_store.write_published(conn, settings or get_settings(), meta.id, version, metadata)
        await record_by(conn, actor, action="layer.publish", target=f"layer:{meta.id}", before=before,
                        after={"id": meta.id, "version": version, "feature_count": len(prep.rows)})
    log.info("published layer %s version %s (%s features)", meta.id, version, len(prep.rows))
    return {"id": meta.id, "version": version, "feature_count": len(prep.rows), "report": prep.report,
            "metadata": {"missing": [path for path, _ in record.missing()]}}


async def _set_current(conn: psycopg.AsyncConnection, layer_id: str, version: int | None,
                       geometry_type: str | None) -> None:
    await fetch_one(conn, "layers_set_current", {"id": layer_id, "version": version, "geometry_type": geometry_type})


async def _create_and_fill(conn: psycopg.AsyncConnection, table: str, prep: Prepared) -> None:
    t = sql.Identifier("published", table)
    cols = sql.SQL("").join(sql.SQL(", {} {}").format(sql.Identifier(n), sql.SQL(typ)) for n, typ in prep.columns)
    await conn.execute(sql.SQL("CREATE TABLE {} (fid integer PRIMARY KEY{}, geom geometry(Geometry, 4326) NOT NULL)")
                       .format(t, cols))
    names = [sql.Identifier("fid"), *(sql.Identifier(n) for n, _ in prep.columns), sql.Identifier("geom")]
    async with conn.cursor() as cur:
        async with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(t, sql.SQL(", ").join(names))) as copy:
            for fid, row in enumerate(prep.rows, start=1):
                await copy.write_row((fid, *row))
    # one geometry type per layer, as Multi*: clients and MVT get a consistent schema
    await conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN geom TYPE geometry({}, 4326) USING ST_Multi(geom)")
                       .format(t, sql.SQL(prep.geometry_type)))
    await conn.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(t))
    await conn.execute(sql.SQL("ANALYZE {}").format(t))


def _busy(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable("the layer is being read by a long query; nothing changed, try again shortly",
                              log_message=str(exc))


async def restore(conn: psycopg.AsyncConnection, layer_id: str, version: int,
                  actor: Actor | None = None) -> dict[str, Any]:
    """Make an earlier (or any kept) version live again, in one transaction with its audit row."""
    try:
        return await _restore(conn, layer_id, version, actor or Actor.cli())
    except psycopg.errors.LockNotAvailable as exc:
        raise _busy(exc) from None


async def _restore(conn: psycopg.AsyncConnection, layer_id: str, version: int, actor: Actor) -> dict[str, Any]:
    async with conn.transaction():
        if (before := await fetch_one(conn, "layers_layer_get", {"id": layer_id})) is None:
            raise NotFound(f"No published layer {layer_id!r}")
        row = await fetch_one(conn, "layers_version_get", {"id": layer_id, "version": version})
        if row is None:
            raise NotFound(f"Layer {layer_id!r} has no version {version}", extra={"parameter": "version"})
        await _point_view(conn, layer_id, row["table_name"])
        await _set_current(conn, layer_id, version, None)
        result = {"id": layer_id, "version": version, "feature_count": row["feature_count"]}
        await record_by(conn, actor, action="layer.restore", target=f"layer:{layer_id}", before=before, after=result)
    return result


async def unpublish(conn: psycopg.AsyncConnection, layer_id: str, actor: Actor | None = None) -> dict[str, Any]:
    """Take a layer off the collections (drop its view), audited; its versions stay and can be restored."""
    async with conn.transaction():
        if (before := await fetch_one(conn, "layers_layer_get", {"id": layer_id})) is None:
            raise NotFound(f"No published layer {layer_id!r}")
        await conn.execute("SET LOCAL lock_timeout = '5s'")
        try:
            await conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier("published", layer_id)))
        except psycopg.errors.LockNotAvailable as exc:
            raise _busy(exc) from None
        except psycopg.errors.DependentObjectsStillExist as exc:
            raise _in_use(layer_id, exc) from None
        await _set_current(conn, layer_id, None, None)
        await record_by(conn, actor or Actor.cli(), action="layer.unpublish", target=f"layer:{layer_id}",
                        before=before, after={"id": layer_id, "unpublished": True})
    return {"id": layer_id, "unpublished": True}
