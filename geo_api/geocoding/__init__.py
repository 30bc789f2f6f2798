"""Geocoding domain code: the reverse index, the address parser and forward ranking (no HTTP, no globals)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from geo_api.geocoding.reverse import ReverseIndex

# Named queries whose rows build the indexes (sql/queries/<name>.sql).
SOURCE_QUERIES = ("geocode_reverse_units", "geocode_gazetteer", "geocode_crosswalk", "geocode_poi")


@dataclass
class Geocoder:
    """The indexes one process keeps: reverse (points → wilayah) and forward (text → candidates)."""

    reverse: ReverseIndex
    forward: Any = field(default=None)

    def set_streets(self, streets: Any) -> None:
        """Swap in a new street index (one attribute assignment: searches running meanwhile see old or new)."""
        self.forward.streets = streets


def split_units(rows: Sequence[dict]) -> dict[str, list[dict]]:
    """Group geocode_reverse_units rows by their `lapis` (kelurahan, tetangga, kabkota)."""
    out: dict[str, list[dict]] = {"kelurahan": [], "tetangga": [], "kabkota": []}
    for r in rows:
        out[r["lapis"]].append(r)
    return out


def build_geocoder(rows: dict[str, Sequence[dict]], *, tolerance_m: float, nearest_max_m: float,
                   streets: Any = None) -> Geocoder:
    """Build both indexes from the rows of SOURCE_QUERIES (CPU work: run it off the event loop)."""
    from geo_api.geocoding.forward import ForwardIndex

    units = split_units(rows["geocode_reverse_units"])
    reverse = ReverseIndex(units["kelurahan"], units["tetangga"], units["kabkota"],
                           tolerance_m=tolerance_m, nearest_max_m=nearest_max_m)
    forward = ForwardIndex(rows["geocode_gazetteer"], rows["geocode_crosswalk"], rows["geocode_poi"], streets)
    return Geocoder(reverse=reverse, forward=forward)


def load_geocoder(conn, *, tolerance_m: float, nearest_max_m: float, settings: Any = None) -> Geocoder:
    """Load the source rows over a sync connection (CLI, benchmarks) and build the indexes.

    With `settings`, the street layer they name is indexed too (geocoding/streets.py)."""
    from geo_api.geocoding.streets import load_streets
    from sql import query

    rows = {name: conn.execute(query(name)).fetchall() for name in SOURCE_QUERIES}
    streets = load_streets(conn, settings) if settings is not None else None
    return build_geocoder(rows, tolerance_m=tolerance_m, nearest_max_m=nearest_max_m, streets=streets)
