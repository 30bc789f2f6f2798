"""`satupeta maps build OUT_DIR`: the web maps as standalone HTML files with their assets next to them."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The web maps (/peta): export as standalone HTML.", no_args_is_help=True)
log = logging.getLogger("satupeta.maps")


@app.command("build")
def build(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write index.html, the maps and static/ into")],
    layer: Annotated[list[str] | None, typer.Option(help="Only these collections' Layer maps (repeatable)")] = None,
) -> None:
    """Write every map (index, laporan, armada, dasbor, one per collection) as HTML that works offline."""
    from geo_api.cli_common import console, fail, load_settings
    from geo_api.errors import SatuPetaError
    from maps.export import export_all

    settings = load_settings()
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"{out_dir} exists and is not a folder")
    try:
        written = asyncio.run(export_all(settings, out_dir, only_layers=layer))
    except SatuPetaError as exc:
        fail(exc.detail)
    except OSError as exc:
        fail(f"cannot write to {out_dir}: {exc}")
    for path, note in written:
        console.print(f"  {path}" + (f"  ({note})" if note else ""), markup=False, highlight=False)
    console.print(f"wrote {len(written)} page(s) and static/ to {out_dir}")


def run_async_demo(settings, n: int, hari: int, *, ganti_datar: bool = False) -> dict[str, int] | None:
    """The demo's SYNTHETIC past weeks (maps.riwayat) on an async connection of its own; with ganti_datar, only
    an old demo database's flat SYNTHETIC laporan replaced by such a history (None: not such a database)."""
    import asyncio

    import psycopg
    from psycopg.rows import dict_row

    from maps.riwayat import ganti_riwayat_datar, isi_riwayat

    async def job() -> dict[str, int] | None:
        async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True) as c:
            if ganti_datar:
                return await ganti_riwayat_datar(c, settings, hari=hari)
            return await isi_riwayat(c, settings, n, hari=hari)

    return asyncio.run(job())


@app.command("demo")
def demo(
    laporan: Annotated[int, typer.Option(min=0, max=20_000, help="SYNTHETIC laporan to have in the database")] = 300,
    trucks: Annotated[int, typer.Option(min=0, max=200, help="Simulated trucks driving in real time (0: none)")] = 10,
    url: Annotated[str | None, typer.Option(help="Server base URL (default: SATUPETA_HOST:PORT)")] = None,
    key_file: Annotated[Path, typer.Option(help="The citizen_app demo key `satupeta routing demo` wrote")] = Path(
        ".demo_api_key"),
    wait: Annotated[float, typer.Option(min=0, help="Seconds to wait for the server to answer /health")] = 120,
    riwayat_hari: Annotated[int, typer.Option(min=0, max=365, help="Spread the SYNTHETIC laporan over this many "
                                              "past days, handled in hours to days (0: all posted now)")] = 28,
) -> None:
    """Fill the maps for a first look: a SYNTHETIC history of past weeks (intake, statuses, re-dispatches through
    the domain code with the demo's clock), the newest laporan posted through Open311, then the fleet simulator."""
    import os
    import shutil
    import sys

    from geo_api.cli_common import console, fail, load_settings
    from geo_api.db import connect
    from geo_api.errors import SatuPetaError
    from maps.demo import DemoError, officer_key, post_laporan, wait_for_server

    settings = load_settings()
    base = url or f"http://{settings.host}:{settings.port}"
    try:
        wait_for_server(base, wait)
        # an old demo database (every laporan SINTETIS, all from one day): its history of past weeks built now
        rebuilt = run_async_demo(settings, 0, riwayat_hari, ganti_datar=True) if riwayat_hari else None
        if rebuilt:
            console.print(f"riwayat contoh dibangun ulang (SINTETIS, {riwayat_hari} hari terakhir): {rebuilt}")
        with connect(settings) as conn:
            have = conn.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
            if have < laporan:
                if not key_file.is_file():
                    fail(f"{key_file} not found: run `satupeta routing demo` first (make db does)")
                live = laporan - have if not riwayat_hari else min(laporan - have, 20)
                if laporan - have - live:
                    done = run_async_demo(settings, laporan - have - live, riwayat_hari)
                    console.print(f"riwayat contoh (SINTETIS, {riwayat_hari} hari terakhir): {done}")
                done = post_laporan(conn, base, key_file.read_text().strip(), officer_key(conn), live)
                console.print(f"laporan contoh (SINTETIS): {done}")
            else:
                console.print(f"{have} laporan already there; none posted")
    except (DemoError, SatuPetaError) as exc:
        fail(str(getattr(exc, "detail", exc)))
    except OSError as exc:
        fail(f"demo could not reach {base}: {exc}")
    console.print(f"peta: {base}/peta")
    if trucks:
        exe = shutil.which("satupeta") or str(Path(sys.executable).parent / "satupeta")
        # today's SINTETIS schedules (ingestion.fleet_sim): the day so far is sent at once (on time, late, skipped
        # pickups), the rest of the day as it happens, so the trucks move while you watch /peta/armada
        os.execv(exe, [exe, "fleet", "simulate", "--trucks", str(trucks), "--speedup", "1", "--url", base])
