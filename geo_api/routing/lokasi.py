"""Locate a point: kelurahan/kecamatan in the city, or the neighbouring kab/kota outside it.

Uses the geocoding module's in-memory reverse index (exact on every point, no database round trip).
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import psycopg

from geo_api.db import fetch_all
from geo_api.geocoding import split_units
from geo_api.geocoding.reverse import ReverseIndex
from geo_api.routing.model import KOTA_KODE, Lokasi

# decisions of the reverse index that put a point in the city / hand it to a named neighbour
_IN_CITY = {"inside", "overlap", "gap", "unassigned"}
_NEIGHBOUR = {"tetangga", "kabkota"}


def locate(index: ReverseIndex, lat: float, lon: float) -> Lokasi:
    """Where (lat, lon) lies, by the reverse geocoding decision rule."""
    d = index.describe(index.lookup(np.array([lon]), np.array([lat])), 0)
    return lokasi_from(d, lat, lon)


def lokasi_from(d: dict[str, Any], lat: float, lon: float) -> Lokasi:
    """Turn one reverse geocoding answer into routing's location facts."""
    decision = d["decision"]
    kab = d.get("kabkota") or {}
    kec = d.get("kecamatan") or {}
    kel = d.get("kelurahan") or d.get("desa_kelurahan") or {}
    if decision in _IN_CITY:
        return Lokasi(lat, lon, True, kel.get("kode"), kel.get("nama"), kec.get("kode"), kec.get("nama"),
                      KOTA_KODE, kab.get("nama") or "Kota Tangerang", decision, d.get("message", ""))
    if decision in _NEIGHBOUR:
        return Lokasi(lat, lon, False, kel.get("kode"), kel.get("nama"), kec.get("kode"), kec.get("nama"),
                      kab.get("kode"), kab.get("nama"), decision, d.get("message", ""))
    return Lokasi(lat, lon, False, geocode=decision, pesan=d.get("message", ""))


async def load_reverse_index(conn: psycopg.AsyncConnection, settings: Any) -> ReverseIndex:
    """Build a reverse index from the database (CLI, benchmarks, tests; the API shares the geocoder's)."""
    units = split_units(await fetch_all(conn, "geocode_reverse_units"))
    return await asyncio.to_thread(ReverseIndex, units["kelurahan"], units["tetangga"], units["kabkota"],
                                   tolerance_m=settings.geocode_gap_tolerance_m,
                                   nearest_max_m=settings.geocode_nearest_max_m)
