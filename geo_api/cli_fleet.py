"""`satupeta fleet ...`: Si Lacak registry, OsmAnd listener, simulator, back-fill import, maintenance."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geo_api.cli_common import console, guard, load_settings, out
from geo_api.errors import SatuPetaError

app = typer.Typer(help="Si Lacak waste fleet: vehicles, devices, OsmAnd listener, simulator, import.",
                  no_args_is_help=True)
vehicle_app = typer.Typer(help="Vehicles (trucks).", no_args_is_help=True)
device_app = typer.Typer(help="GPS devices (the OsmAnd id they send).", no_args_is_help=True)
app.add_typer(vehicle_app, name="vehicle")
app.add_typer(device_app, name="device")


@vehicle_app.command("add")
@guard
def vehicle_add(
    plat_nomor: Annotated[str, typer.Argument(help="Plate, e.g. 'B 9123 XYZ'")],
    jenis: Annotated[str, typer.Option(help="compactor | dump_truck | arm_roll | pickup | lainnya")] = "compactor",
    kecamatan: Annotated[str | None, typer.Option(help="Assigned kecamatan (Kemendagri kode, e.g. 36.71.01)")] = None,
    depot: Annotated[str, typer.Option(help="Depot name")] = "",
) -> None:
    """Register (or update) a vehicle."""
    from geo_api.db import connect
    from ingestion.fleet_registry import JENIS, add_vehicle

    if jenis not in JENIS:
        raise SatuPetaError(f"jenis must be one of {', '.join(JENIS)}")
    with connect(load_settings()) as conn:
        vid = add_vehicle(conn, plat_nomor, jenis, kecamatan, depot)  # audited as the CLI user
        conn.commit()
    out.print(f"vehicle {vid}: {plat_nomor}")


@vehicle_app.command("list")
@guard
def vehicle_list() -> None:
    """List vehicles and their devices."""
    from geo_api.db import connect
    from sql import query

    table = Table("id", "plat_nomor", "jenis", "kecamatan", "devices")
    with connect(load_settings()) as conn:
        for r in conn.execute(query("fleet_vehicles_list")).fetchall():
            table.add_row(str(r["id"]), r["plat_nomor"], r["jenis"], r["kecamatan_kode"] or "", ", ".join(r["devices"]))
    out.print(table)


@device_app.command("add")
@guard
def device_add(
    unique_id: Annotated[str, typer.Argument(help="Identifier the tracker sends as OsmAnd id")],
    vehicle: Annotated[str, typer.Option(help="Vehicle id or plate")],
) -> None:
    """Register a device on a vehicle; fixes held for it are moved into its positions."""
    from geo_api.db import connect
    from ingestion.fleet_registry import add_device
    from sql import query

    settings = load_settings()
    with connect(settings) as conn:
        row = conn.execute(query("fleet_vehicle_find"), {"ref": vehicle}).fetchone()
        if row is None:
            raise SatuPetaError(f"no vehicle {vehicle!r}")
        did, claimed = add_device(conn, unique_id, row["id"], settings.fleet_retention_days)  # audited
        conn.commit()
    out.print(f"device {did}: {unique_id}" + (f" ({claimed} held fixes claimed)" if claimed else ""))


@device_app.command("list")
@guard
def device_list() -> None:
    """List devices, their vehicle and last fix; and devices held for registration."""
    from geo_api.db import connect
    from sql import query

    table = Table("id", "unique_id", "vehicle", "last fix", "last received")
    held = Table("held unique_id", "fixes", "first received", "last received")
    with connect(load_settings()) as conn:
        for r in conn.execute(query("fleet_device_list")).fetchall():
            table.add_row(str(r["id"]), r["unique_id"], r["plat_nomor"] or "", str(r["last_fix_time"] or ""),
                          str(r["last_received"] or ""))
        for r in conn.execute(query("fleet_held_summary")).fetchall():
            held.add_row(r["unique_id"], str(r["fixes"]), str(r["first_received"]), str(r["last_received"]))
    out.print(table)
    if held.row_count:
        out.print(held)


@app.command("listen")
def listen(
    port: Annotated[int | None, typer.Option(help="Port (default SATUPETA_FLEET_OSMAND_PORT, 5055)")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default SATUPETA_HOST)")] = None,
) -> None:
    """Serve only the OsmAnd listener (any path, GET/POST), as Traccar does on port 5055."""
    import uvicorn

    from geo_api.edge import configure_logging, log_config
    from geo_api.fleet.listener import create_listener_app

    settings = load_settings()
    configure_logging(settings)  # the one logging configuration (JSON lines, redacted), as `serve`
    port = port or settings.fleet_osmand_port
    console.print(f"OsmAnd listener at http://{host or settings.host}:{port}")
    uvicorn.run(create_listener_app(settings), host=host or settings.host, port=port,
                log_level=settings.log_level.lower(), access_log=False, log_config=log_config(settings))


@app.command("import")
@guard
def import_cmd(
    path: Annotated[Path, typer.Argument(help="CSV (id,timestamp,lat,lon,...) or GPX file", exists=True,
                                         dir_okay=False)],
    device: Annotated[str | None, typer.Option(help="Device id (required for GPX; CSV default)")] = None,
) -> None:
    """Back-fill positions from CSV or GPX (same bad-fix filters as live ingest, then COPY)."""
    from geo_api.db import connect
    from ingestion.fleet_import import import_csv_fast, import_fixes, read_gpx
    from ingestion.fleet_writer import filter_config

    settings = load_settings()
    t0 = time.perf_counter()
    with connect(settings) as conn:
        if path.suffix.lower() == ".gpx":
            if not device:
                raise SatuPetaError("GPX has no device id: give --device")
            counts = import_fixes(conn, read_gpx(path, device), config=filter_config(settings), source=path.name)
        else:
            counts = import_csv_fast(conn, path, device, config=filter_config(settings))
    dt = time.perf_counter() - t0
    out.print(f"imported {counts['rows']} rows in {dt:.1f} s ({counts['rows'] / max(dt, 1e-9):,.0f} rows/s): "
              + ", ".join(f"{k}={v}" for k, v in counts.items() if k != "rows"))


@app.command("maintain")
@guard
def maintain(ahead_days: Annotated[int, typer.Option(help="Create daily partitions this far ahead")] = 7) -> None:
    """Create position partitions ahead and drop those older than the retention (fleet_retention_days); audited
    when it changed something."""
    from geo_api.audit import Actor, record_sync
    from geo_api.db import connect
    from sql import query

    settings = load_settings()
    with connect(settings) as conn:
        created = conn.execute(query("fleet_maintain_ahead"), {"ahead": ahead_days}).fetchone()["n"]
        dropped = conn.execute(query("fleet_drop_old"), {"keep_days": settings.fleet_retention_days}).fetchone()["n"]
        if created or dropped:  # dropping a partition deletes positions: who did it is in the audit log
            record_sync(conn, action="fleet.maintain", target="fleet.position:partitions", actor=Actor.cli(),
                        after={"created": created, "dropped": dropped, "ahead_days": ahead_days,
                               "keep_days": settings.fleet_retention_days})
        conn.commit()
    out.print(f"partitions created: {created}, dropped (older than {settings.fleet_retention_days} days): {dropped}")


@app.command("publish-sites")
@guard
def publish_sites() -> None:
    """Publish the simulator's SYNTHETIC TPS/TPA sites as the sites layer (fleet_sites_layer)."""
    out.print(asyncio.run(_publish_sites(load_settings())))


async def _publish_sites(settings, sites=None) -> str:
    import psycopg
    from psycopg.rows import dict_row

    from ingestion.fleet_sim import sites_geojson, synthetic_sites
    from ingestion.fleet_sites import publish_synthetic_sites
    from sql import query

    async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True) as conn:
        if sites is None:
            cur = await conn.execute(query("fleet_sim_kelurahan"))
            sites = synthetic_sites(await cur.fetchall())
        with tempfile.TemporaryDirectory(prefix="satupeta-fleet-") as tmp:
            res = await publish_synthetic_sites(conn, settings, sites_geojson(sites), tmp)
    scheduled = sum(1 for s in sites if s.jadwal)
    return (f"published {res['id']} version {res['version']} ({res['feature_count']} SYNTHETIC sites"
            + (f", {scheduled} with a SINTETIS jadwal)" if scheduled else ")"))


@app.command("simulate")
@guard
def simulate(
    trucks: Annotated[int, typer.Option(min=1, max=2000, help="Number of trucks")] = 10,
    hours: Annotated[float | None, typer.Option(min=0.5, max=24, help="Length of a free shift (simulated hours, "
                                                "default 8); giving it or --start means --bebas")] = None,
    speedup: Annotated[float, typer.Option(help="Simulated seconds per real second (0: as fast as possible); "
                                           "today's scheduled plan sends its past at once, the rest live")] = 60,
    url: Annotated[str | None, typer.Option(help="Server base URL (default: SATUPETA_HOST:PORT)")] = None,
    path: Annotated[str, typer.Option(help="OsmAnd path on that server (/osmand; / on the listener port)")] = "/osmand",
    interval: Annotated[float, typer.Option(min=1, help="Seconds between a truck's fixes")] = 5,
    start: Annotated[str | None, typer.Option(help="Free shift start, ISO 8601 (default: so it ends now)")] = None,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
    register: Annotated[bool, typer.Option(help="Register the simulated vehicles and devices first")] = True,
    publish: Annotated[bool, typer.Option(help="Publish the synthetic sites layer (with --jadwal: always, with "
                                          "the day's SINTETIS schedules; --bebas: if it is not published)")] = True,
    plan_out: Annotated[Path | None, typer.Option(help="Write the plan (ground truth) as JSON here")] = None,
    tracker_keys: Annotated[bool, typer.Option(help="Give each simulated device a tracker key (created, or "
                                               "rotated if it exists) and send it as `key`; never printed")] = True,
    jadwal: Annotated[bool | None, typer.Option("--jadwal/--bebas", help="Trucks follow SINTETIS TPS schedules "
                                                "(some late or skipped), the default unless --hours or --start; "
                                                "--bebas: a free shift of rounds")] = None,
    day: Annotated[str | None, typer.Option(help="Day of the scheduled plan, YYYY-MM-DD (default today)")] = None,
    live: Annotated[bool, typer.Option("--live/--no-live", help="Today: send the rest of the day as it happens "
                                       "(default) or stop at the present moment")] = True,
    tag: Annotated[str, typer.Option(help="Ends every plate and device id (B 9000 SIM, SIM-0000): up to 8 "
                                     "letters or digits")] = "SIM",
) -> None:
    """Drive plausible trucks through the real OsmAnd endpoint: by default following SINTETIS TPS schedules (on
    time, late, skipped; the TPA Rawa Kucing, back to the depot), or a free shift of rounds (--bebas)."""
    from geo_api.db import connect
    from sql import query

    if not (tag.isascii() and tag.isalnum() and len(tag) <= 8):
        raise typer.BadParameter("up to 8 letters or digits", param_hint="--tag")
    settings = load_settings()
    url = url or f"http://{settings.host}:{settings.port}"
    scheduled = jadwal if jadwal is not None else (hours is None and start is None)
    with connect(settings) as conn:
        kel = conn.execute(query("fleet_sim_kelurahan")).fetchall()
        kec = conn.execute(query("fleet_sim_kecamatan")).fetchall()
        conn.commit()
    if scheduled:
        plans, sites, pace, live, note = _scheduled_plan(settings, trucks, kec, kel, interval, seed, tag, day,
                                                         live, speedup, plan_out)
    else:
        plans, sites, pace, live, note = _free_plan(trucks, hours or 8, kec, kel, interval, seed, start, speedup,
                                                    plan_out)
    with connect(settings) as conn:
        keys = _register(conn, settings, plans, register, tracker_keys)
        published = conn.execute(query("fleet_layer_exists"), {"layer": settings.fleet_sites_layer}).fetchone()[
            "present"]
    if publish and (scheduled or not published):
        console.print(asyncio.run(_publish_sites(settings, sites)))
    total = sum(len(p.fixes) for p in plans)
    console.print(f"{trucks} trucks, {total} fixes, {note} → {url}{path}")
    t1 = time.perf_counter()
    counts = asyncio.run(drive_fleet_cli(plans, url, pace, path, keys, live))
    dt = time.perf_counter() - t1
    out.print(f"sent {counts['sent']} fixes in {dt:.1f} s ({counts['sent'] / max(dt, 1e-9):,.0f}/s), "
              f"{counts['retries']} retries, {counts['failed']} failed")
    if counts["failed"]:
        raise typer.Exit(1)


def _free_plan(trucks, hours, kec, kel, interval, seed, start, speedup, plan_out):
    from ingestion.fleet_sim import plan_fleet, synthetic_sites, write_plan

    now = time.time()
    if start:
        t0 = datetime.fromisoformat(start).replace(tzinfo=datetime.fromisoformat(start).tzinfo or timezone.utc)
        t0s = t0.timestamp()
    else:
        # With a speed-up, replay a shift that ends now, so no fix is stamped in the future.
        t0s = now - hours * 3600 if speedup <= 0 or speedup > 1 else now
    sites = synthetic_sites(kel)
    plans = plan_fleet(trucks, hours, t0s, kec, sites, interval, seed)
    if plan_out:
        write_plan(plans, plan_out)
    note = f"shift from {datetime.fromtimestamp(t0s, tz=timezone.utc).isoformat(timespec='seconds')}"
    return plans, sites, speedup, False, note


def _scheduled_plan(settings, trucks, kec, kel, interval, seed, tag, day, live, speedup, plan_out):
    from collections import Counter
    from datetime import date
    from zoneinfo import ZoneInfo

    from geo_api.errors import InvalidParameter
    from geo_api.params import check_date
    from ingestion.fleet_sim import (
        WINDOW_FIRST_MIN,
        demo_windows,
        plan_scheduled_fleet,
        synthetic_sites,
        truncate,
        write_scheduled_plan,
    )

    tz = ZoneInfo(settings.fleet_timezone)
    now = datetime.now(tz)
    try:
        d = check_date("day", date.fromisoformat(day)) if day else now.date()
    except ValueError as exc:
        raise InvalidParameter("day", f"--day must be YYYY-MM-DD: {exc}") from None
    if d > now.date():
        raise InvalidParameter("day", "--day is in the future: its fixes would be refused as future")
    today = d == now.date()
    first, last = demo_windows(now.hour * 60 + now.minute) if today else (WINDOW_FIRST_MIN, 21 * 60)
    sites = synthetic_sites(kel)
    plans, pickups = plan_scheduled_fleet(trucks, d, tz, kec, sites, interval, seed, tag, first, last)
    if today and not live:
        truncate(plans, now.timestamp())
    if plan_out:
        write_scheduled_plan(plans, pickups, plan_out)
    n = Counter(p.outcome for p in pickups)
    note = (f"SINTETIS schedules on {d.isoformat()} ({n['tepat_waktu']} on time, {n['terlambat']} late, "
            f"{n['terlewat']} skipped planned)" + ("; the rest of today live" if today and live else ""))
    return plans, sites, 0 if today else speedup, today and live, note


def _register(conn, settings, plans, register: bool, tracker_keys: bool):
    from ingestion.fleet_registry import add_device, add_vehicle
    from ingestion.fleet_sim import sim_tracker_keys

    if register:
        for p in plans:
            vid = add_vehicle(conn, p.plat_nomor, p.jenis, p.kecamatan_kode, "Depot SIM", p.depot[1], p.depot[0])
            add_device(conn, p.unique_id, vid, settings.fleet_retention_days)
        conn.commit()
    # Tracker keys are required by default (fleet_tracker_auth): one per simulated device, in memory only.
    return sim_tracker_keys(conn, [p.unique_id for p in plans]) if tracker_keys else None


async def drive_fleet_cli(plans, url: str, pace: float, path: str, keys, live: bool) -> dict[str, int]:
    """The simulator's fixes sent with progress lines."""
    from ingestion.fleet_sim import drive_fleet

    sim_start = min((p.fixes[0][0] for p in plans if p.fixes), default=time.time())
    return await drive_fleet(plans, url, pace, path=path, sim_start=sim_start, keys=keys, live=live,
                             progress=lambda n: console.print(f"  {n} fixes sent"))
