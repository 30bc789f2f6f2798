"""The vehicle and device registry (sync, for the CLI, the simulator's setup and tests).

Each registration writes its audit row (vehicle.add, device.add) in its own transaction (a savepoint of the
caller's when one is open), so `fleet vehicle add`, `fleet device add` and the simulator cannot differ."""

from __future__ import annotations

import psycopg

from geo_api.audit import Actor, record_sync
from sql import query

JENIS = ("compactor", "dump_truck", "arm_roll", "pickup", "lainnya")


def add_vehicle(conn: psycopg.Connection, plat_nomor: str, jenis: str, kecamatan_kode: str | None = None,
                depot: str = "", depot_lon: float | None = None, depot_lat: float | None = None, *,
                actor: Actor | None = None) -> int:
    """Register (or update) a vehicle by plate, audited as `actor` (default: the CLI user); returns its id."""
    values = {"plat_nomor": plat_nomor, "jenis": jenis, "kecamatan_kode": kecamatan_kode, "depot": depot,
              "depot_lon": depot_lon, "depot_lat": depot_lat}
    with conn.transaction():
        vid = _first(conn.execute(query("fleet_vehicle_insert"), values).fetchone())
        record_sync(conn, action="vehicle.add", target=f"vehicle:{vid}", actor=actor or Actor.cli(), after=values)
    return vid


def add_device(conn: psycopg.Connection, unique_id: str, vehicle_id: int, keep_days: int = 400, *,
               actor: Actor | None = None) -> tuple[int, int]:
    """Register a device on a vehicle and claim its held fixes, audited as `actor` (default: the CLI user);
    returns (device id, fixes claimed)."""
    with conn.transaction():
        device_id = _first(conn.execute(query("fleet_device_insert"),
                                        {"unique_id": unique_id, "vehicle_id": vehicle_id}).fetchone())
        for row in conn.execute(query("fleet_held_days"), {"unique_id": unique_id, "keep_days": keep_days}
                                ).fetchall():
            conn.execute(query("fleet_ensure_partition"), {"day": _first(row)})
        claimed = conn.execute(query("fleet_held_claim"), {"unique_id": unique_id, "device_id": device_id}).rowcount
        if claimed:
            conn.execute(query("fleet_device_refresh_last"), {"ids": [device_id]})
        record_sync(conn, action="device.add", target=f"device:{device_id}", actor=actor or Actor.cli(),
                    after={"vehicle_id": vehicle_id, "held_fixes_claimed": claimed})
    return device_id, claimed


def _first(row) -> object:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
