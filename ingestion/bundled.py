"""Load the bundled Kota Tangerang data (../shared/data) into PostGIS, checked first, swapped atomically."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from pyproj import CRS

from geo_api.audit import Actor, record_sync
from geo_api.errors import DataError
from sql import query

log = logging.getLogger("satupeta.ingestion")

ATTR_WILAYAH = ("Batas wilayah: cahyadsn/wilayah_boundaries (MIT); kode & nama wilayah: "
                "Kepmendagri 300.2.2-2138/2025 via cahyadsn/wilayah (MIT)")
ATTR_BPS = "Kode BPS: BPS MFD 2018 via edwardsamuel/Wilayah-Administratif-Indonesia (ODbL 1.0)"
ATTR_OSM = "POI: © OpenStreetMap contributors (ODbL 1.0)"
WGS84 = CRS.from_epsg(4326)


@dataclass(frozen=True)
class LayerSpec:
    """One bundled layer: its file, target table, the columns it must carry and how to check it."""

    id: str
    title: str
    file: str
    table: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    source: str
    licence: str
    attribution: str
    geometry_types: tuple[str, ...] = ()  # empty: a table without a geometry (CSV)
    point_from: tuple[str, str] | None = None  # (lon, lat) columns that make a point geometry for a CSV
    expected_count: int | None = None
    renames: dict[str, str] = field(default_factory=dict)
    bool_columns: tuple[str, ...] = ()
    key: str | None = "kode"  # the column rows are matched on at reload; None: replace all rows

    @property
    def is_csv(self) -> bool:
        """Whether the source is a CSV (read as text, never type-guessed)."""
        return self.file.endswith(".csv")


_KEL_COLS = ("kode", "kode_10", "nama", "jenis", "kec_kode", "kec_nama", "kab_kode", "kab_nama",
             "prov_kode", "prov_nama", "kodepos", "label_lat", "label_lon", "luas_km2")
_AREA = ("Polygon", "MultiPolygon")
_WB = "cahyadsn/wilayah_boundaries @3c5a796 + cahyadsn/wilayah @b7ad440 + cahyadsn/wilayah_kodepos @4fa8c59"

BUNDLED: tuple[LayerSpec, ...] = (
    LayerSpec("kelurahan", "Kelurahan Kota Tangerang", "kota_tangerang_kelurahan.geojson", "kelurahan",
              _KEL_COLS, ("kode", "nama", "kec_kode", "kec_nama"), _WB, "MIT", ATTR_WILAYAH, _AREA,
              expected_count=104, renames={"lat": "label_lat", "lon": "label_lon"}),
    LayerSpec("kecamatan", "Kecamatan Kota Tangerang", "kota_tangerang_kecamatan.geojson", "kecamatan",
              ("kode", "kode_7", "nama", "jumlah_kelurahan", "kab_kode", "kab_nama", "prov_kode", "prov_nama",
               "label_lat", "label_lon", "luas_km2"), ("kode", "nama"), _WB + " (dissolved)", "MIT",
              ATTR_WILAYAH, _AREA, expected_count=13, renames={"lat": "label_lat", "lon": "label_lon"}),
    LayerSpec("batas_kota", "Batas Kota Tangerang", "kota_tangerang_batas_kota.geojson", "batas_kota",
              ("kode", "kode_4", "nama", "prov_kode", "prov_nama", "jumlah_kecamatan", "jumlah_kelurahan",
               "luas_km2"), ("kode", "nama"), _WB + " (dissolved)", "MIT", ATTR_WILAYAH, _AREA,
              expected_count=1),
    LayerSpec("tetangga_desa_kelurahan", "Desa/kelurahan tetangga (cincin 3 km)",
              "tetangga_desa_kelurahan_ring3km.geojson", "tetangga_desa_kelurahan", _KEL_COLS,
              ("kode", "nama", "kec_kode", "kab_kode", "kab_nama"), _WB, "MIT", ATTR_WILAYAH, _AREA,
              expected_count=105, renames={"lat": "label_lat", "lon": "label_lon"}),
    LayerSpec("kabkota_sekitar", "Kab/kota sekitar", "wilayah_kabkota_sekitar.geojson", "kabkota_sekitar",
              ("kode", "kode_4", "nama", "prov_kode", "prov_nama", "jumlah_desa_kelurahan", "luas_km2",
               "luas_km2_kepmendagri", "penduduk_pria", "penduduk_wanita", "penduduk_total"),
              ("kode", "nama"), _WB, "MIT", ATTR_WILAYAH, _AREA, expected_count=6),
    LayerSpec("gazetteer", "Gazetir wilayah Banten dan DKI Jakarta", "gazetteer_wilayah_banten_dki.csv",
              "gazetteer",
              ("kode", "kode_tanpa_titik", "level", "nama", "jenis", "kec_kode", "kec_nama", "kab_kode",
               "kab_nama", "prov_kode", "prov_nama", "kodepos", "lat", "lon", "in_kota_tangerang"),
              ("kode", "kode_tanpa_titik", "level", "nama", "prov_kode", "prov_nama", "in_kota_tangerang"),
              "cahyadsn/wilayah @b7ad440 + cahyadsn/wilayah_kodepos @4fa8c59", "MIT", ATTR_WILAYAH,
              ("Point",), point_from=("lon", "lat"), expected_count=2034, bool_columns=("in_kota_tangerang",)),
    LayerSpec("crosswalk_bps", "Padanan kode BPS 2018 ↔ Kemendagri 2025", "crosswalk_bps2018_kemendagri2025.csv",
              "crosswalk_bps", ("level", "kode_bps", "nama_bps", "kode_kemendagri", "nama_kemendagri", "match"),
              ("level", "match"),
              "edwardsamuel/Wilayah-Administratif-Indonesia @92f52a0", "ODbL-1.0", ATTR_BPS,
              expected_count=481, key=None),
    LayerSpec("poi", "Titik penting OSM (cincin 3 km)", "osm_poi_kota_tangerang_ring3km.geojson", "poi",
              ("osm_ref", "osm_type", "osm_id", "name", "category", "perlu_verifikasi", "in_kota_tangerang",
               "desa_kel_kode", "desa_kel_nama", "kec_kode", "kec_nama", "kab_kode", "kab_nama"),
              ("osm_ref", "osm_type", "osm_id", "category", "in_kota_tangerang"),
              "dhaneswaramandrasa/Jabodetabek-Transit-Equity-Mapper @53b2c16 (OSM Overpass extract)",
              "ODbL-1.0", ATTR_OSM, ("Point",), expected_count=423, key="osm_ref",
              bool_columns=("perlu_verifikasi", "in_kota_tangerang")),
)
BY_ID = {spec.id: spec for spec in BUNDLED}


@dataclass
class LoadResult:
    """What happened to one layer."""

    id: str
    rows: int
    skipped: bool
    seconds: float = 0.0


def sha256_of(path: Path) -> str:
    """Checksum of a file, to skip a reload that would change nothing."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_layer(spec: LayerSpec, path: Path) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read and check one file; raises DataError naming the file and the problem."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = _read_csv(spec, path) if spec.is_csv else gpd.read_file(path, engine="pyogrio")
    except DataError:
        raise
    except Exception as exc:  # pyogrio/pandas raise many kinds for a broken file
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {str(exc).strip()[:300]})") from exc
    frame = frame.rename(columns=spec.renames)
    _check_columns(spec, path, frame)
    if spec.geometry_types:
        frame = _check_geometry(spec, path, frame)
    if spec.expected_count is not None and len(frame) != spec.expected_count:
        raise DataError(f"{path}: expected {spec.expected_count} rows, found {len(frame)} (truncated file?)")
    return frame


def _read_csv(spec: LayerSpec, path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    for col in spec.bool_columns:
        if col in frame:
            bad = ~frame[col].isin(["True", "False", "true", "false"])
            if bad.any():
                raise DataError(f"{path}: column {col} must be True/False; row {int(bad.idxmax()) + 2} "
                                f"has {frame[col][bad].iloc[0]!r}")
            frame[col] = frame[col].str.lower() == "true"
    if spec.point_from:
        lon, lat = spec.point_from
        x = pd.to_numeric(frame[lon], errors="coerce")
        y = pd.to_numeric(frame[lat], errors="coerce")
        if (frame[lon].notna() & x.isna()).any() or (frame[lat].notna() & y.isna()).any():
            raise DataError(f"{path}: non-numeric {lat}/{lon}")
        frame[lon], frame[lat] = x, y
        geoms = shapely.points(x.to_numpy(), y.to_numpy())
        geoms[x.isna().to_numpy() | y.isna().to_numpy()] = None
        return gpd.GeoDataFrame(frame, geometry=geoms, crs=WGS84)
    return frame


def _check_columns(spec: LayerSpec, path: Path, frame: pd.DataFrame) -> None:
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    for col in spec.required:
        nulls = frame[col].isna()
        if nulls.any():
            raise DataError(f"{path}: column {col} is empty in {int(nulls.sum())} row(s), "
                            f"first at row {int(nulls.to_numpy().nonzero()[0][0]) + 1}")
    key = spec.key
    if key and frame[key].duplicated().any():
        raise DataError(f"{path}: duplicate {key} {frame[key][frame[key].duplicated()].iloc[0]!r}")


def _check_geometry(spec: LayerSpec, path: Path, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None or not CRS(frame.crs).equals(WGS84, ignore_axis_order=True):
        raise DataError(f"{path}: CRS must be EPSG:4326 / CRS84, found {frame.crs}")
    geoms = frame.geometry.array
    present = ~frame.geometry.isna().to_numpy()
    if spec.point_from is None and not present.all():
        raise DataError(f"{path}: {int((~present).sum())} feature(s) without geometry")
    types = set(frame.geometry[present].geom_type)
    wrong = types - set(spec.geometry_types)
    if wrong:
        raise DataError(f"{path}: geometry type {', '.join(sorted(wrong))} where "
                        f"{'/'.join(spec.geometry_types)} is expected")
    invalid = present & ~shapely.is_valid(geoms.to_numpy() if hasattr(geoms, "to_numpy") else geoms)
    if invalid.any():
        i = int(invalid.nonzero()[0][0])
        reason = shapely.is_valid_reason(frame.geometry.iloc[i])
        raise DataError(f"{path}: {int(invalid.sum())} invalid geometr(y/ies); "
                        f"first {spec.columns[0]}={frame[spec.columns[0]].iloc[i]!r}: {reason}")
    bounds = frame.geometry[present].total_bounds
    if len(bounds) and (bounds[0] < -180 or bounds[2] > 180 or bounds[1] < -90 or bounds[3] > 90):
        raise DataError(f"{path}: coordinates outside lon/lat range (axes swapped?)")
    return frame


def _rows(spec: LayerSpec, frame: pd.DataFrame) -> Iterable[tuple]:
    cols = list(spec.columns)
    values = frame[cols].astype(object).where(frame[cols].notna(), None).itertuples(index=False, name=None)
    if not spec.geometry_types:
        yield from values
        return
    geoms = frame.geometry
    if "Polygon" in spec.geometry_types:
        geoms = geoms.apply(lambda g: shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g)
    wkb = shapely.to_wkb(shapely.set_srid(geoms.to_numpy(), 4326), hex=True, include_srid=True)
    for row, g in zip(values, wkb, strict=True):
        yield (*row, g)


def write_layer(conn: psycopg.Connection, spec: LayerSpec, frame: pd.DataFrame, *, source_file: str,
                sha256: str, actor: Actor | None = None) -> int:
    """Stage the rows, check them in SQL, and swap them in with the layer record and its audit row (data.load,
    as `actor`, default the CLI user) in one transaction."""
    target = sql.Identifier(spec.table)
    stage = sql.Identifier("staging", spec.table)
    cols = [*spec.columns, *(("geom",) if spec.geometry_types else ())]
    col_sql = sql.SQL(", ").join(map(sql.Identifier, cols))
    try:
        _swap(conn, spec, frame, target, stage, cols, col_sql, source_file, sha256, actor or Actor.cli())
    except psycopg.errors.DataError as exc:  # includes constraint and type errors raised by the server
        raise DataError(f"{source_file}: rejected by the database ({str(exc).splitlines()[0]})") from exc
    except psycopg.errors.IntegrityError as exc:
        raise DataError(f"{source_file}: rejected by the database ({str(exc).splitlines()[0]})") from exc
    return len(frame)


def _swap(conn, spec, frame, target, stage, cols, col_sql, source_file, sha256, actor: Actor) -> None:
    """Stage with COPY, then replace the live rows in one transaction.

    Rows are upserted by key and the rows no longer in the file deleted, rather than emptying the table:
    other tables (fleet vehicles, laporan) may reference a kecamatan or kelurahan by its code, and a
    reload must neither break those references nor let a file that drops a referenced code through.
    """
    with conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
        conn.execute(sql.SQL("CREATE UNLOGGED TABLE {} AS SELECT {} FROM {} WITH NO DATA")
                     .format(stage, col_sql, target))
        with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, col_sql)) as copy:
            for row in _rows(spec, frame):
                copy.write_row(row)
        conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(target))
        if spec.key:
            key = sql.Identifier(spec.key)
            updates = sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
                                         for c in cols if c != spec.key)
            conn.execute(sql.SQL("DELETE FROM {t} WHERE {k} NOT IN (SELECT {k} FROM {s})")
                         .format(t=target, k=key, s=stage))
            conn.execute(sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {s} ON CONFLICT ({k}) DO UPDATE SET {u}")
                         .format(t=target, c=col_sql, s=stage, k=key, u=updates))
        else:
            conn.execute(sql.SQL("DELETE FROM {}").format(target))
            conn.execute(sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {s}").format(t=target, c=col_sql, s=stage))
        conn.execute(sql.SQL("DROP TABLE {}").format(stage))
        conn.execute(query("data_layer_upsert"), {
            "id": spec.id, "title": spec.title, "source_file": source_file, "sha256": sha256,
            "feature_count": len(frame), "source": spec.source, "licence": spec.licence,
            "attribution": spec.attribution})
        record_sync(conn, action="data.load", target=f"data:{spec.id}", actor=actor,
                    after={"rows": len(frame), "source_file": source_file, "sha256": sha256})


def load_bundled(conn: psycopg.Connection, data_dir: Path, *, only: Iterable[str] | None = None,
                 force: bool = False, progress: Callable[[str], None] | None = None,
                 actor: Actor | None = None) -> list[LoadResult]:
    """Load the bundled layers (or `only` these): every changed file is read and checked before any is written.

    Unchanged files (same sha256 as recorded in data_layer) are skipped unless `force`.
    """
    specs = [BY_ID[i] for i in only] if only else list(BUNDLED)
    known = {r["id"]: r["sha256"] for r in conn.execute("SELECT id, sha256 FROM data_layer").fetchall()}
    conn.commit()
    pending: list[tuple[LayerSpec, Path, str, pd.DataFrame]] = []
    results: list[LoadResult] = []
    for spec in specs:
        path = data_dir / spec.file
        digest = sha256_of(path) if path.is_file() else ""
        if not force and digest and known.get(spec.id) == digest:
            results.append(LoadResult(spec.id, -1, True))
        else:
            pending.append((spec, path, digest, read_layer(spec, path)))
        if progress:
            progress(f"checked {spec.id}")
    for spec, path, digest, frame in pending:
        t0 = time.perf_counter()
        rows = write_layer(conn, spec, frame, source_file=path.name, sha256=digest, actor=actor)
        results.append(LoadResult(spec.id, rows, False, time.perf_counter() - t0))
        if progress:
            progress(f"loaded {spec.id}")
    return results
