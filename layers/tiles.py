"""Vector tiles: WebMercatorQuad from morecantile, MVT from ST_AsMVT, and an in-process tile cache."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import cache

import morecantile
import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from layers.catalog import GEOM, Collection
from layers.errors import QueryParameterError, StaleCatalog

TMS_ID = "WebMercatorQuad"
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


@cache
def tms() -> morecantile.TileMatrixSet:
    """The WebMercatorQuad tile matrix set (OGC 17-083r4), from morecantile."""
    return morecantile.tms.get(TMS_ID)


def check_tile(tms_id: str, z: int, x: int, y: int) -> None:
    """Reject an unknown tile matrix set or a tile outside the matrix (400 naming the parameter)."""
    if tms_id != TMS_ID:
        raise QueryParameterError("tileMatrixSetId", f"only {TMS_ID} is offered, not {tms_id[:40]!r}")
    if not 0 <= z <= MAX_ZOOM:
        raise QueryParameterError("tileMatrix", f"zoom must be between 0 and {MAX_ZOOM}")
    n = 1 << z
    if not 0 <= x < n:
        raise QueryParameterError("tileCol", f"tileCol must be between 0 and {n - 1} at zoom {z}")
    if not 0 <= y < n:
        raise QueryParameterError("tileRow", f"tileRow must be between 0 and {n - 1} at zoom {z}")


def tile_etag(coll: Collection, z: int, x: int, y: int) -> str:
    """A strong ETag that changes whenever the collection's data changes."""
    return '"' + hashlib.sha1(f"{coll.id}\0{coll.stamp}\0{z}/{x}/{y}".encode()).hexdigest()[:24] + '"'


def _tile_sql(coll: Collection) -> sql.Composable:
    props = sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(c.name)) for c in coll.columns)
    # the primary key becomes the MVT feature id (ST_AsMVT's feature_id_name) and stays a property too;
    # a non-integer key gets a stable 60-bit hash of its text (MVT ids are unsigned integers)
    pk = sql.Identifier(coll.pk)
    if coll.pk_column.type in ("integer", "bigint", "smallint"):
        fid = sql.SQL("t.{}::bigint").format(pk)
    else:
        fid = sql.SQL("('x' || substr(md5(t.{}::text), 1, 15))::bit(60)::bigint").format(pk)
    props = props + sql.SQL(", {} AS mvt_fid").format(fid)
    return sql.SQL(
        "WITH b AS (SELECT ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 3857) AS e), "
        "q AS (SELECT ST_AsMVTGeom(ST_Transform(t.{g}, 3857), b.e, {ext}, {buf}, true) AS {g}{props} "
        "FROM {t} AS t, b WHERE t.{g} && ST_Transform(ST_Expand(b.e, %(pad)s), 4326)) "
        "SELECT ST_AsMVT(q, %(name)s, {ext}, {gname}{fid}) FROM q WHERE q.{g} IS NOT NULL").format(
        g=sql.Identifier(GEOM), ext=sql.Literal(EXTENT), buf=sql.Literal(BUFFER), props=props, t=coll.table,
        gname=sql.Literal(GEOM), fid=sql.SQL(", 'mvt_fid'"))


async def render_tile(conn: psycopg.AsyncConnection, coll: Collection, z: int, x: int, y: int) -> bytes:
    """The MVT bytes of one tile (empty when no feature touches it); one layer named after the collection."""
    b = tms().xy_bounds(morecantile.Tile(x, y, z))
    pad = (b.right - b.left) * BUFFER / EXTENT
    try:
        async with conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(_tile_sql(coll), {"x0": b.left, "y0": b.bottom, "x1": b.right, "y1": b.top,
                                                 "pad": pad, "name": coll.id})
            row = await cur.fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
        raise StaleCatalog(str(exc)) from exc
    return bytes(row[0]) if row and row[0] else b""


class TileCache:
    """An LRU of rendered tiles bounded in bytes; keys carry the data stamp, so a change is a miss."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # read by geo_api.metrics

    def get(self, key: tuple) -> bytes | None:
        """The cached tile, or None."""
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return tile

    def put(self, key: tuple, tile: bytes) -> None:
        """Store a tile, evicting the least recently used ones beyond the byte budget."""
        if len(tile) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._tiles.pop(key, None)
            self._size -= len(old) if old is not None else 0
            self._tiles[key] = tile
            self._size += len(tile)
            while self._size > self.max_bytes and self._tiles:
                _, dropped = self._tiles.popitem(last=False)
                self._size -= len(dropped)

    def invalidate(self, collection_id: str) -> None:
        """Drop every tile of a collection (its data changed)."""
        with self._lock:
            for key in [k for k in self._tiles if k[0] == collection_id]:
                self._size -= len(self._tiles.pop(key))

    def clear(self) -> None:
        """Drop every tile."""
        with self._lock:
            self._tiles.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._tiles)
