"""Parsing of the OGC query parameters into plain values; every failure names the parameter (400).

Numbers, bbox numbers and instants go through geo_api/params.py (the one parser, bounded dates); this module adds
what only OGC has: bbox axis order by CRS, intervals, properties and sortby looked up in the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from geo_api import params
from layers.catalog import GEOM, Collection, Column
from layers.crs import OfferedCrs
from layers.errors import QueryParameterError


def parse_int(param: str, value: str | None, default: int, lo: int, hi: int, cap: bool = False) -> int:
    """An integer in [lo, hi] (400 outside), except above hi with `cap` (OGC `limit`): then hi."""
    return params.parse_int(param, value, default, lo, hi, cap=cap, error=QueryParameterError)


@dataclass(frozen=True)
class BBox:
    """A bbox in x/y order of its CRS."""

    minx: float
    miny: float
    maxx: float
    maxy: float


def parse_bbox(value: str | None, crs: OfferedCrs, param: str = "bbox") -> BBox | None:
    """`bbox=minx,miny,maxx,maxy` (or 6 numbers with heights) in the bbox-crs axis order."""
    if value is None or value == "":
        return None
    a0, a1, b0, b1 = params.parse_bbox_numbers(value, param, heights=True, error=QueryParameterError)
    if crs.lat_first:
        a0, a1, b0, b1 = a1, a0, b1, b0
    if a0 > b0 or a1 > b1:
        raise QueryParameterError(param, "bbox lower corner must not exceed the upper corner")
    crs.check_bbox(param, a0, a1, b0, b1)
    return BBox(a0, a1, b0, b1)


def _instant(text: str, param: str) -> datetime | None:
    if text in ("..", ""):
        return None
    return params.parse_instant(param, text, error=QueryParameterError)  # bounded: no overflow further in


def parse_datetime(value: str | None, param: str = "datetime") -> tuple[datetime | None, datetime | None] | None:
    """An instant or an interval `start/end` (either end may be `..`), as (start, end); None if absent."""
    if value is None or value == "":
        return None
    parts = value.split("/")
    if len(parts) == 1:
        t = _instant(parts[0], param)
        if t is None:
            raise QueryParameterError(param, "datetime must be an instant or an interval start/end")
        return t, t
    if len(parts) != 2:
        raise QueryParameterError(param, "datetime must be an instant or an interval start/end")
    start, end = _instant(parts[0], param), _instant(parts[1], param)
    if start and end and start > end:
        raise QueryParameterError(param, "datetime interval start is after its end")
    return start, end


def parse_properties(value: str | None, coll: Collection, param: str = "properties") -> list[Column] | None:
    """`properties=a,b`: the selected columns (each looked up in the catalog); None means all."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    out = []
    for n in names:
        col = coll.column(n)
        if col is None:
            raise QueryParameterError(param, f"unknown property {n[:60]!r} in collection {coll.id!r}")
        if col not in out:
            out.append(col)
    return out


def parse_sortby(value: str | None, coll: Collection, param: str = "sortby") -> list[tuple[Column, bool]]:
    """`sortby=+a,-b` as (column, descending) pairs; unknown columns are a 400."""
    if not value:
        return []
    out = []
    for raw in value.split(","):
        term = raw.strip()
        desc = term.startswith("-")
        name = term.lstrip("+- ")
        col = coll.column(name)
        if col is None or name == GEOM:
            raise QueryParameterError(param, f"cannot sort by {name[:60]!r}: not a property of {coll.id!r}")
        out.append((col, desc))
    return out
