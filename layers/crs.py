"""Part 2 CRS by reference: the CRSs we offer, their URIs, SRIDs and axis order (from pyproj)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from pyproj import CRS

from layers.errors import QueryParameterError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class OfferedCrs:
    """A CRS the API offers: its URI, the PostGIS SRID, and whether the first axis is northing."""

    uri: str
    srid: int
    lat_first: bool
    bounds: tuple[float, float, float, float]  # valid coordinate range (x/y order)

    def check_bbox(self, param: str, minx: float, miny: float, maxx: float, maxy: float) -> None:
        """Reject a bbox (in x/y order) outside this CRS's valid range."""
        bx0, by0, bx1, by1 = self.bounds
        if not (bx0 <= minx <= bx1 and bx0 <= maxx <= bx1 and by0 <= miny <= by1 and by0 <= maxy <= by1):
            raise QueryParameterError(param, f"coordinates outside the valid range of {self.uri}")


@cache
def _offered(uri: str, srid: int) -> OfferedCrs:
    crs = CRS.from_user_input("OGC:CRS84" if uri == CRS84 else f"EPSG:{srid}")
    lat_first = crs.axis_info[0].direction.lower() == "north"
    west, south, east, north = crs.area_of_use.bounds if crs.area_of_use else (-180, -90, 180, 90)
    if crs.is_geographic:
        bounds = (-180.0, -90.0, 180.0, 90.0)
    else:
        # the projected range of the CRS's area of use, widened: projected bboxes may reach a little past it
        from pyproj import Transformer

        t = Transformer.from_crs("OGC:CRS84", crs, always_xy=True)
        xs, ys = t.transform([west, east, west, east], [max(south, -85), max(south, -85),
                                                          min(north, 85), min(north, 85)])
        pad = 0.5 * max(max(xs) - min(xs), max(ys) - min(ys))
        bounds = (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
        if not all(math.isfinite(b) for b in bounds):
            bounds = (-1e8, -1e8, 1e8, 1e8)
    return OfferedCrs(uri, srid, lat_first, bounds)


OFFERED_SRIDS = {CRS84: 4326, "http://www.opengis.net/def/crs/EPSG/0/4326": 4326,
                 "http://www.opengis.net/def/crs/EPSG/0/3857": 3857,
                 "http://www.opengis.net/def/crs/EPSG/0/32748": 32748}
_ALIASES = {"OGC:CRS84": CRS84, "CRS84": CRS84, "EPSG:4326": "http://www.opengis.net/def/crs/EPSG/0/4326",
            "EPSG:3857": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "EPSG:32748": "http://www.opengis.net/def/crs/EPSG/0/32748"}


def offered_uris() -> list[str]:
    """URIs of every CRS we offer (the collection's `crs` list)."""
    return list(OFFERED_SRIDS)


def parse_crs(param: str, value: str | None) -> OfferedCrs:
    """The offered CRS named by a URI (or [EPSG:n] safe CURIE); CRS84 when absent; 400 otherwise."""
    if value is None or value.strip() == "":
        return _offered(CRS84, 4326)
    v = value.strip()
    if v.startswith("[") and v.endswith("]"):
        v = v[1:-1]
    v = _ALIASES.get(v.upper(), v).replace("https://", "http://")
    if v not in OFFERED_SRIDS:
        raise QueryParameterError(param, f"CRS {value!r} is not offered; use one of {', '.join(OFFERED_SRIDS)}")
    return _offered(v, OFFERED_SRIDS[v])
