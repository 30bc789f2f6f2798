"""CQL2 (text and JSON, parsed by pygeofilter) to a psycopg SQL condition over a catalogued collection.

Property names are looked up in the collection's catalog and quoted; every literal is a bound value.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text

from layers.catalog import GEOM, Collection
from layers.crs import OfferedCrs
from layers.errors import QueryParameterError

MAX_FILTER_LENGTH = 20_000
_CMP = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
        ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mul: "*", ast.Div: "/"}
_SPATIAL = {ast.GeometryIntersects: "ST_Intersects", ast.GeometryDisjoint: "ST_Disjoint",
            ast.GeometryContains: "ST_Contains", ast.GeometryWithin: "ST_Within",
            ast.GeometryTouches: "ST_Touches", ast.GeometryCrosses: "ST_Crosses",
            ast.GeometryOverlaps: "ST_Overlaps", ast.GeometryEquals: "ST_Equals"}


def _bbox_to_polygon(node: Any) -> Any:
    """CQL2 JSON `{"bbox": [...]}` as a GeoJSON polygon (pygeofilter's JSON parser misorders its corners)."""
    if isinstance(node, dict):
        if set(node) == {"bbox"} and isinstance(node["bbox"], list) and len(node["bbox"]) in (4, 6):
            b = node["bbox"]
            x0, y0, x1, y1 = (b[0], b[1], b[3], b[4]) if len(b) == 6 else b
            return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
        return {k: _bbox_to_polygon(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_bbox_to_polygon(v) for v in node]
    return node


def parse_filter(text: str, lang: str | None) -> ast.Node:
    """Parse a CQL2 filter (`cql2-text`, the default, or `cql2-json`); a syntax error is a 400 on `filter`."""
    if len(text) > MAX_FILTER_LENGTH:
        raise QueryParameterError("filter", f"filter is longer than {MAX_FILTER_LENGTH} characters")
    lang = (lang or "cql2-text").lower()
    try:
        if lang == "cql2-text":
            return parse_text(text)
        if lang == "cql2-json":
            return parse_json(_bbox_to_polygon(orjson.loads(text)))
    except QueryParameterError:
        raise
    except Exception as exc:  # lark and pygeofilter raise many kinds; all mean "not valid CQL2"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise QueryParameterError("filter", f"invalid {lang} filter: {first}") from None
    raise QueryParameterError("filter-lang", f"filter-lang must be cql2-text or cql2-json, got {lang[:30]!r}")


class _ToSql:
    """Walks a pygeofilter AST and composes SQL; unknown names and unsupported nodes are 400s."""

    def __init__(self, coll: Collection, crs: OfferedCrs):
        self.coll = coll
        self.crs = crs

    def cond(self, node: Any) -> sql.Composable:
        if isinstance(node, ast.And | ast.Or):
            op = sql.SQL(" AND " if isinstance(node, ast.And) else " OR ")
            return sql.SQL("({})").format(op.join([self.cond(node.lhs), self.cond(node.rhs)]))
        if isinstance(node, ast.Not):
            return sql.SQL("(NOT {})").format(self.cond(node.sub_node))
        if isinstance(node, ast.Include):
            return sql.SQL("FALSE" if node.not_ else "TRUE")
        if type(node) in _CMP:
            return sql.SQL("({} {} {})").format(self.expr(node.lhs), sql.SQL(_CMP[type(node)]), self.expr(node.rhs))
        if isinstance(node, ast.Between):
            return sql.SQL("({} {}BETWEEN {} AND {})").format(
                self.expr(node.lhs), sql.SQL("NOT " if node.not_ else ""), self.expr(node.low), self.expr(node.high))
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            items = sql.SQL(", ").join([self.expr(v) for v in node.sub_nodes])
            return sql.SQL("({} {}IN ({}))").format(self.expr(node.lhs), sql.SQL("NOT " if node.not_ else ""), items)
        if isinstance(node, ast.IsNull):
            return sql.SQL("({} IS {}NULL)").format(self.expr(node.lhs), sql.SQL("NOT " if node.not_ else ""))
        if type(node) in _SPATIAL:
            return sql.SQL("{}({}, {})").format(sql.SQL(_SPATIAL[type(node)]), self.geom(node.lhs), self.geom(node.rhs))
        if isinstance(node, ast.BBox):
            env = values.Envelope(node.minx, node.maxx, node.miny, node.maxy)
            return sql.SQL("ST_Intersects({}, {})").format(self.geom(node.lhs), self.geom(env))
        if isinstance(node, ast.TemporalPredicate):
            return self._temporal(node)
        raise QueryParameterError("filter", f"unsupported CQL2 construct {type(node).__name__}")

    def _like(self, node: ast.Like) -> sql.Composable:
        pattern = node.pattern
        if not isinstance(pattern, str):
            raise QueryParameterError("filter", "LIKE needs a string pattern")
        # CQL2 wildcards are % and _; pygeofilter reports them, and PostgreSQL uses the same ones.
        op = "ILIKE" if node.nocase else "LIKE"
        return sql.SQL("({}::text {}{} {})").format(self.expr(node.lhs), sql.SQL("NOT " if node.not_ else ""),
                                                    sql.SQL(op), self._value(pattern))

    def _temporal(self, node: ast.TemporalPredicate) -> sql.Composable:
        lhs = self.expr(node.lhs)
        start, end = self._interval(node.rhs)
        name = type(node).__name__
        if name == "TimeAfter":
            return sql.SQL("({} > {})").format(lhs, end)
        if name == "TimeBefore":
            return sql.SQL("({} < {})").format(lhs, start)
        if name in ("TimeEquals",):
            return sql.SQL("({} = {})").format(lhs, start)
        if name in ("TimeDuring", "TimeIntersects", "TimeContains", "TimeOverlaps"):
            return sql.SQL("({} BETWEEN {} AND {})").format(lhs, start, end)
        if name == "TimeDisjoint":
            return sql.SQL("({} NOT BETWEEN {} AND {})").format(lhs, start, end)
        raise QueryParameterError("filter", f"unsupported temporal operator {name}")

    def _interval(self, v: Any) -> tuple[sql.Composable, sql.Composable]:
        if isinstance(v, values.Interval):
            lo = self._value(v.start) if v.start is not None else sql.SQL("'-infinity'::timestamptz")
            hi = self._value(v.end) if v.end is not None else sql.SQL("'infinity'::timestamptz")
            return lo, hi
        val = self.expr(v)
        return val, val

    def expr(self, node: Any) -> sql.Composable:
        if isinstance(node, ast.Attribute):
            return self.attribute(node.name)
        if type(node) in _ARITH:
            return sql.SQL("({} {} {})").format(self.expr(node.lhs), sql.SQL(_ARITH[type(node)]), self.expr(node.rhs))
        if isinstance(node, ast.Function):
            return self._function(node)
        if isinstance(node, values.Geometry | values.Envelope):
            return self.geom(node)
        if isinstance(node, timedelta | values.Interval | list | dict):
            raise QueryParameterError("filter", f"unsupported value {type(node).__name__} here")
        return self._value(node)

    def _function(self, node: ast.Function) -> sql.Composable:
        name = node.name.lower()
        if name in ("casei", "lower") and len(node.arguments) == 1:
            return sql.SQL("lower({}::text)").format(self.expr(node.arguments[0]))
        if name == "upper" and len(node.arguments) == 1:
            return sql.SQL("upper({}::text)").format(self.expr(node.arguments[0]))
        if name == "bbox" and len(node.arguments) in (4, 6):
            a = node.arguments
            x0, y0, x1, y1 = (a[0], a[1], a[3], a[4]) if len(a) == 6 else a
            return self.geom(values.Envelope(x0, x1, y0, y1))
        raise QueryParameterError("filter", f"unsupported function {node.name[:40]!r}")

    def _value(self, v: Any) -> sql.Composable:
        if isinstance(v, bool | int | float | str | datetime | date) or v is None:
            return sql.Literal(v) if v is None or isinstance(v, bool) else _Bound(v)
        raise QueryParameterError("filter", f"unsupported value {type(v).__name__}")

    def _geom_column(self) -> sql.Composable:
        if not self.coll.has_geometry:
            raise QueryParameterError("filter", f"collection {self.coll.id!r} has no geometry")
        return sql.Identifier(GEOM)

    def attribute(self, name: str) -> sql.Composable:
        if not isinstance(name, str):
            raise QueryParameterError("filter", "a property name must be a string")
        if name == GEOM:
            return self._geom_column()
        col = self.coll.column(name)
        if col is None:
            raise QueryParameterError("filter", f"unknown property {name[:60]!r}; "
                                      f"see the queryables of {self.coll.id!r}")
        return sql.Identifier(col.name)

    def geom(self, node: Any) -> sql.Composable:
        if isinstance(node, ast.Attribute):
            if node.name != GEOM:
                raise QueryParameterError("filter", f"{node.name[:60]!r} is not the geometry property (geom)")
            return self._geom_column()
        if isinstance(node, ast.Function) and node.name.lower() == "bbox":
            return self._function(node)
        if isinstance(node, values.Geometry | values.Envelope):
            g = json.dumps(node.geometry)
            inner = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(_Bound(g), sql.Literal(self.crs.srid))
            if self.crs.lat_first:
                inner = sql.SQL("ST_FlipCoordinates({})").format(inner)
            return sql.SQL("ST_Transform({}, 4326)").format(inner) if self.crs.srid != 4326 else inner
        raise QueryParameterError("filter", "a spatial operator needs the geometry property and a geometry")


class _Bound(sql.Composable):
    """A value passed as a bound parameter (psycopg `%s`), kept with its value for execution."""

    def __init__(self, value: Any):
        super().__init__(value)

    def as_bytes(self, context: Any = None) -> bytes:
        return b"%s"

    def as_string(self, context: Any = None) -> str:
        return "%s"


def bound_values(composable: sql.Composable) -> list[Any]:
    """The values of every bound placeholder in a composed statement, in order."""
    if isinstance(composable, _Bound):
        return [composable._obj]
    if isinstance(composable, sql.Composed):
        out: list[Any] = []
        for part in composable._obj:
            out.extend(bound_values(part))
        return out
    return []


def filter_sql(node: ast.Node, coll: Collection, crs: OfferedCrs) -> sql.Composable:
    """The SQL condition of a parsed CQL2 filter over this collection; values stay bound placeholders.

    A tree the parser accepted but whose parts have the wrong types (a list as a property name, an object as a
    value) is a 400 on `filter`, never a 500."""
    try:
        return _ToSql(coll, crs).cond(node)
    except QueryParameterError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        raise QueryParameterError("filter", f"invalid filter: {type(exc).__name__}") from None
