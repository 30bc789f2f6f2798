"""The catalog of collections, read from the database: the only source of identifiers that reach SQL."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from geo_api.db import fetch_all
from geo_api.errors import NotFound
from sql import query

GEOM = "geom"
_TEMPORAL = ("timestamp with time zone", "timestamp without time zone", "date")
_NUMERIC = ("integer", "bigint", "smallint", "double precision", "real", "numeric")


@dataclass(frozen=True)
class Column:
    """An attribute column of a collection, with its PostgreSQL type."""

    name: str
    type: str

    @property
    def json_type(self) -> str:
        """The JSON Schema type of the column's values (queryables)."""
        if self.type in ("integer", "bigint", "smallint"):
            return "integer"
        if self.type.startswith(_NUMERIC):
            return "number"
        if self.type == "boolean":
            return "boolean"
        return "string"

    @property
    def temporal(self) -> bool:
        """Whether the column holds dates or instants."""
        return self.type in _TEMPORAL


@dataclass(frozen=True)
class Collection:
    """One collection (bundled table or published layer view) and what a request may name in it."""

    id: str
    title: str
    description: str
    attribution: str
    licence: str
    kind: str  # bundled | published
    schema: str
    relation: str
    opd: str | None
    updated_at: datetime
    stamp: str  # changes whenever the data changes: cache keys and ETags hang on it
    geometry_type: str | None  # None: a table without a geometry column (features with null geometry)
    pk: str
    columns: tuple[Column, ...]
    extent: tuple[float, float, float, float] | None = None
    null_geometries: bool = False  # some rows lack a geometry: the default order puts them last
    by_name: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({c.name: c for c in self.columns})

    @property
    def table(self) -> sql.Composable:
        """The quoted schema-qualified relation."""
        return sql.Identifier(self.schema, self.relation)

    @property
    def has_geometry(self) -> bool:
        """Whether the collection has a geometry column (bbox, spatial filters, extent and tiles need one)."""
        return self.geometry_type is not None

    @property
    def datetime_column(self) -> Column | None:
        """The first temporal column: what `datetime` filters on (None: the parameter is ignored)."""
        return next((c for c in self.columns if c.temporal), None)

    @property
    def pk_column(self) -> Column:
        """The feature id column."""
        return self.by_name[self.pk]

    def column(self, name: str) -> Column | None:
        """The attribute column of that name, or None."""
        return self.by_name.get(name)


def _collection(row: dict[str, Any], ext: tuple | None) -> Collection:
    cols = tuple(Column(c["name"], c["type"]) for c in row["columns"] or [] if c["name"] != GEOM)
    pk = row["pk"] or ("fid" if any(c.name == "fid" for c in cols) else cols[0].name)
    return Collection(
        id=row["id"], title=row["title"], description=row["description"] or "", attribution=row["attribution"],
        licence=row["licence"], kind=row["kind"], schema=row["schema_name"], relation=row["rel_name"],
        opd=row["opd"], updated_at=row["updated_at"], stamp=row["stamp"],
        geometry_type=row["geometry_type"], pk=pk, columns=cols,
        extent=tuple(ext[:4]) if ext and ext[0] is not None else None, null_geometries=bool(ext and ext[4]))


async def _extents(conn: psycopg.AsyncConnection, rows: list[dict[str, Any]]) -> dict[str, tuple]:
    """Spatial extents of the given relations and whether some rows lack a geometry, in one statement."""
    if not rows:
        return {}
    parts = [sql.SQL("SELECT {} AS id, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "
                     "n FROM (SELECT ST_Extent(geom)::box2d AS e, bool_or(geom IS NULL) AS n FROM {}) AS x").format(
        sql.Literal(r["id"]), sql.Identifier(r["schema_name"], r["rel_name"])) for r in rows]
    async with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        await cur.execute(sql.SQL(" UNION ALL ").join(parts))
        return {r[0]: tuple(r[1:]) for r in await cur.fetchall()}


def _by_layer(rows: list[tuple[str, str, str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for layer_id, name, type_ in rows:
        out.setdefault(layer_id, {})[name] = type_
    return out


async def published_columns(conn: psycopg.AsyncConnection, layer_ids: list[str]) -> dict[str, dict[str, str]]:
    """The columns (name -> type, in table order) of each live published layer among `layer_ids`.

    The one way to ask which published layers exist and what they hold; a layer absent from the result is
    not published. Read fresh (not through the TTL cache), so a publish in another process is seen at once."""
    async with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        await cur.execute(query("layers_published_columns"), {"layers": list(layer_ids)})
        return _by_layer(await cur.fetchall())


def published_columns_sync(conn: psycopg.Connection, layer_ids: list[str]) -> dict[str, dict[str, str]]:
    """`published_columns` over a sync connection (CLI and start-up callers)."""
    with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        cur.execute(query("layers_published_columns"), {"layers": list(layer_ids)})
        return _by_layer(cur.fetchall())


class Catalog:
    """Collections cached for `ttl` seconds; extents cached per data stamp. Safe for concurrent tasks."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._loaded = 0.0
        self._collections: dict[str, Collection] = {}
        self._extents: dict[tuple[str, str], tuple] = {}
        self._lock = asyncio.Lock()
        self.hits = self.reloads = 0  # read by geo_api.metrics

    def invalidate(self) -> None:
        """Force a reload on next use (after a publish in this process)."""
        self._loaded = 0.0

    async def all(self, conn: psycopg.AsyncConnection) -> dict[str, Collection]:
        """Every collection by id, reloaded when older than the TTL."""
        if time.monotonic() - self._loaded > self.ttl:
            async with self._lock:
                if time.monotonic() - self._loaded > self.ttl:
                    await self._reload(conn)
                    self.reloads += 1
                    return self._collections
        self.hits += 1
        return self._collections

    async def get(self, conn: psycopg.AsyncConnection, collection_id: str) -> Collection:
        """The collection of that id, or a 404 problem."""
        found = (await self.all(conn)).get(collection_id)
        if found is None:
            raise NotFound(f"No collection {collection_id!r}; see /ogc/collections",
                           extra={"parameter": "collectionId"})
        return found

    async def _reload(self, conn: psycopg.AsyncConnection) -> None:
        rows = await fetch_all(conn, "layers_catalog")
        missing = [r for r in rows if r["geometry_type"] and (r["id"], r["stamp"]) not in self._extents]
        for cid, ext in (await _extents(conn, missing)).items():
            stamp = next(r["stamp"] for r in missing if r["id"] == cid)
            self._extents[(cid, stamp)] = ext
        self._collections = {r["id"]: _collection(r, self._extents.get((r["id"], r["stamp"]))) for r in rows}
        self._loaded = time.monotonic()
