"""Items and single features: composed SQL over a catalogued collection, GeoJSON built inside PostGIS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from layers.catalog import GEOM, Collection, Column
from layers.cql import _Bound, bound_values
from layers.crs import OfferedCrs
from layers.errors import QueryParameterError, StaleCatalog
from layers.params import BBox

# json_build_object takes at most 100 arguments (50 pairs): wider rows are built in chunks of jsonb.
_CHUNK = 40


@dataclass
class ItemsQuery:
    """Everything an items request asks, already validated against the catalog."""

    crs: OfferedCrs
    limit: int
    offset: int = 0
    properties: list[Column] | None = None
    bbox: BBox | None = None
    bbox_crs: OfferedCrs | None = None
    interval: tuple[datetime | None, datetime | None] | None = None
    cql: sql.Composable | None = None
    equals: dict[str, str] = field(default_factory=dict)
    sortby: list[tuple[Column, bool]] = field(default_factory=list)


def geometry_expr(crs: OfferedCrs) -> sql.Composable:
    """The geom column transformed to the response CRS, in that CRS's axis order."""
    g: sql.Composable = sql.Identifier(GEOM)
    if crs.srid != 4326:
        g = sql.SQL("ST_Transform({}, {})").format(g, sql.Literal(crs.srid))
    if crs.lat_first:
        g = sql.SQL("ST_FlipCoordinates({})").format(g)
    return g


def properties_expr(columns: list[Column] | tuple[Column, ...]) -> sql.Composable:
    """A JSON object of the columns' values (text), built in PostgreSQL."""
    if not columns:
        return sql.SQL("'{}'")
    chunks = [columns[i:i + _CHUNK] for i in range(0, len(columns), _CHUNK)]
    fn = "json_build_object" if len(chunks) == 1 else "jsonb_build_object"
    parts = [sql.SQL(fn + "({})").format(sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(c.name), sql.Identifier(c.name)) for c in chunk)) for chunk in chunks]
    return sql.SQL("({})::text").format(sql.SQL(" || ").join(parts))


def feature_expr(coll: Collection, crs: OfferedCrs, columns: list[Column] | tuple[Column, ...]) -> sql.Composable:
    """One GeoJSON Feature as text; the geometry's JSON is spliced in, not re-parsed."""
    digits = 7 if crs.srid == 4326 else 3
    geometry = sql.SQL("coalesce(ST_AsGeoJSON({}, {}), 'null')").format(geometry_expr(crs), sql.Literal(digits)) \
        if coll.has_geometry else sql.SQL("'null'")
    return sql.SQL("'{{\"type\":\"Feature\",\"id\":' || to_json({pk})::text || ',\"geometry\":' || "
                   "{g} || ',\"properties\":' || {props} || '}}'").format(
        pk=sql.Identifier(coll.pk), g=geometry, props=properties_expr(columns))


def _where(coll: Collection, q: ItemsQuery) -> sql.Composable:
    conds: list[sql.Composable] = []
    if q.bbox is not None and not coll.has_geometry:
        raise QueryParameterError("bbox", f"collection {coll.id!r} has no geometry")
    if q.bbox is not None:
        crs = q.bbox_crs
        env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            _Bound(q.bbox.minx), _Bound(q.bbox.miny), _Bound(q.bbox.maxx), _Bound(q.bbox.maxy),
            sql.Literal(crs.srid))
        if crs.srid != 4326:
            # densify before reprojecting so the envelope's edges follow the projection
            env = sql.SQL("ST_Transform(ST_Segmentize({}, ({} - {}) / 16.0), 4326)").format(
                env, _Bound(q.bbox.maxx), _Bound(q.bbox.minx))
        conds.append(sql.SQL("ST_Intersects({}, {})").format(sql.Identifier(GEOM), env))
    if q.interval is not None:
        col = coll.datetime_column
        if col is not None:
            start, end = q.interval
            if start is not None:
                conds.append(sql.SQL("{} >= {}").format(sql.Identifier(col.name), _Bound(start)))
            if end is not None:
                conds.append(sql.SQL("{} <= {}").format(sql.Identifier(col.name), _Bound(end)))
    for name, value in q.equals.items():
        conds.append(sql.SQL("{}::text = {}").format(sql.Identifier(name), _Bound(value)))
    if q.cql is not None:
        conds.append(q.cql)
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL("")


def _order(coll: Collection, q: ItemsQuery) -> sql.Composable:
    terms = [sql.SQL("{} {} NULLS LAST").format(sql.Identifier(c.name), sql.SQL("DESC" if d else "ASC"))
             for c, d in q.sortby]
    if not q.sortby and coll.null_geometries:
        # features with a geometry first: clients (QGIS, GDAL) infer the geometry type from the first page
        terms.append(sql.SQL("({} IS NULL)").format(sql.Identifier(GEOM)))
    if not any(c.name == coll.pk for c, _ in q.sortby):
        terms.append(sql.Identifier(coll.pk))  # a total order: pages never overlap or skip
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(terms)


async def _run(conn: psycopg.AsyncConnection, stmt: sql.Composable) -> Any:
    """Execute; errors caused by the request (type mismatch in a filter, bad geometry) become 400s."""
    try:
        async with conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(stmt, bound_values(stmt) or None)
            return await cur.fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
        raise StaleCatalog(str(exc)) from exc
    except (psycopg.DataError, psycopg.errors.UndefinedFunction, psycopg.errors.InternalError_,
            psycopg.errors.DatatypeMismatch) as exc:
        raise QueryParameterError("filter", f"the query cannot be evaluated: {exc.diag.message_primary}") from None


async def query_items(conn: psycopg.AsyncConnection, coll: Collection, q: ItemsQuery) -> tuple[bytes, int, int]:
    """(features as comma-joined GeoJSON, numberReturned, numberMatched) for one page."""
    columns = q.properties if q.properties is not None else coll.columns
    where = _where(coll, q)
    # the feature JSON is built on the page's rows only, not on the rows OFFSET skips
    page = sql.SQL("SELECT {f} AS f FROM (SELECT * FROM {t}{w}{o} LIMIT {lim} OFFSET {off}) AS t").format(
        f=feature_expr(coll, q.crs, columns), t=coll.table, w=where, o=_order(coll, q),
        lim=_Bound(q.limit), off=_Bound(q.offset))  # bound: one statement text, prepared after a few runs
    row = await _run(conn, sql.SQL("SELECT coalesce(string_agg(f, ','), ''), count(*) FROM ({}) AS page")
                     .format(page))
    features, returned = row[0].encode(), row[1]
    if q.offset == 0 and returned < q.limit:
        matched = returned  # the whole result is on this page: no second scan needed
    else:
        matched = (await _run(conn, sql.SQL("SELECT count(*) FROM {}{}").format(coll.table, where)))[0]
    return features, returned, matched


async def query_item(conn: psycopg.AsyncConnection, coll: Collection, feature_id: str,
                     crs: OfferedCrs, properties: list[Column] | None) -> bytes | None:
    """One feature as GeoJSON text, or None when no feature has that id."""
    key: Any = feature_id
    if "\0" in feature_id:
        return None  # PostgreSQL text cannot hold NUL: no feature can have this id
    if coll.pk_column.json_type == "integer":
        try:
            key = int(feature_id)
        except ValueError:
            return None
    columns = properties if properties is not None else coll.columns
    stmt = sql.SQL("SELECT {} FROM {} WHERE {} = {}").format(
        feature_expr(coll, crs, columns), coll.table, sql.Identifier(coll.pk), _Bound(key))
    row = await _run(conn, stmt)
    return row[0].encode() if row else None
