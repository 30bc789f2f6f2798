"""The vehicle and device registry (sync, for the CLI, the simulator's setup and tests)."""

from __future__ import annotations

import psycopg

from sql import query

JENIS = ("compactor", "dump_truck", "arm_roll", "pickup", "lainnya")


def add_vehicle(conn: psycopg.Connection, plat_nomor: str, jenis: str, kecamatan_kode: str | None = None,
                depot: str = "", depot_lon: float | None = None, depot_lat: float | None = None) -> int:
    """Register (or update) a vehicle by plate; returns its id."""
    row = conn.execute(query("fleet_vehicle_insert"), {
        "plat_nomor": plat_nomor, "jenis": jenis, "kecamatan_kode": kecamatan_kode, "depot": depot,
        "depot_lon": depot_lon, "depot_lat": depot_lat}).fetchone()
    return _first(row)


def add_device(conn: psycopg.Connection, unique_id: str, vehicle_id: int, keep_days: int = 400) -> tuple[int, int]:
    """Register a device on a vehicle and claim its held fixes; returns (device id, fixes claimed)."""
    device_id = _first(conn.execute(query("fleet_device_insert"),
                                    {"unique_id": unique_id, "vehicle_id": vehicle_id}).fetchone())
    for row in conn.execute(query("fleet_held_days"), {"unique_id": unique_id, "keep_days": keep_days}).fetchall():
        conn.execute(query("fleet_ensure_partition"), {"day": _first(row)})
    claimed = conn.execute(query("fleet_held_claim"), {"unique_id": unique_id, "device_id": device_id}).rowcount
    if claimed:
        conn.execute(query("fleet_device_refresh_last"), {"ids": [device_id]})
    return device_id, claimed


def _first(row) -> object:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
