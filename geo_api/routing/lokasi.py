"""Locate a point: kelurahan/kecamatan in the city, or the neighbouring kab/kota outside it.

Behind one function so that the geocoding module's reverse index can replace the SQL lookup in one line.
"""

from __future__ import annotations

import psycopg

from geo_api.db import fetch_one
from geo_api.routing.model import KOTA_KODE, Lokasi


async def locate(conn: psycopg.AsyncConnection, lat: float, lon: float) -> Lokasi:
    """Where (lat, lon) lies (one indexed point-in-polygon query)."""
    row = await fetch_one(conn, "routing_lokasi", {"lat": lat, "lon": lon})
    if row is None:
        return Lokasi(lat=lat, lon=lon, di_kota=False)
    return Lokasi(lat=lat, lon=lon, di_kota=row["kabkota_kode"] == KOTA_KODE and row["kelurahan_kode"] is not None,
                  kelurahan_kode=row["kelurahan_kode"], kelurahan_nama=row["kelurahan_nama"],
                  kecamatan_kode=row["kecamatan_kode"], kecamatan_nama=row["kecamatan_nama"],
                  kabkota_kode=row["kabkota_kode"], kabkota_nama=row["kabkota_nama"])
