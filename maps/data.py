"""Data the map builders draw, read with the platform's named queries on one async connection."""

from __future__ import annotations

import psycopg

from geo_api.db import fetch_all, fetch_one
from maps.base import BaseData


async def load_base(conn: psycopg.AsyncConnection, street_layer: str | None = None) -> BaseData:
    """Boundaries, the city's extent, the data sources' attribution, the POI overlay and, when `street_layer` is
    published, that layer for a streets overlay (drawn from its /ogc vector tiles)."""
    b = await fetch_one(conn, "maps_bounds")
    bounds = (b["minx"], b["miny"], b["maxx"], b["maxy"]) if b and b["minx"] is not None else \
        (106.55, -6.26, 106.75, -6.09)  # Kota Tangerang, should batas_kota not be loaded yet
    return BaseData(
        kelurahan=await fetch_all(conn, "maps_kelurahan"),
        kecamatan=await fetch_all(conn, "maps_kecamatan"),
        sekitar=await fetch_all(conn, "maps_sekitar"),
        bounds=bounds,
        attributions=await fetch_all(conn, "maps_attribution"),
        poi=await fetch_all(conn, "maps_poi"),
        jalan=await fetch_one(conn, "maps_jalan_terbit", {"id": street_layer}) if street_layer else None,
    )


async def data_sintetis(conn: psycopg.AsyncConnection) -> bool:
    """Whether the laporan or the fleet hold the demo's SYNTHETIC data (pages then say DATA SINTETIS)."""
    row = await fetch_one(conn, "maps_data_sintetis")
    return bool(row and (row["laporan"] or row["armada"]))


async def table_exists(conn: psycopg.AsyncConnection, name: str) -> bool:
    """Whether a table or view of that (possibly schema-qualified) name exists: other issues add them."""
    async with conn.cursor() as cur:
        await cur.execute("SELECT to_regclass(%s) IS NOT NULL AS ok", (name,))
        row = await cur.fetchone()
    return bool(row and (row["ok"] if isinstance(row, dict) else row[0]))
