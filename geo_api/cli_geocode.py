"""`satupeta geocode ...`: reverse-geocode files of any size, search an address, from the shell."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from geo_api.cli_common import console, fail, out
from geo_api.errors import SatuPetaError
from geo_api.settings import get_settings

geocode_app = typer.Typer(help="Geocoding: reverse-geocode files, search addresses.", no_args_is_help=True)
def _geocoder():
    from geo_api.db import connect
    from geo_api.geocoding import load_geocoder

    settings = get_settings()
    with connect(settings) as conn:
        return load_geocoder(conn, tolerance_m=settings.geocode_gap_tolerance_m,
                             nearest_max_m=settings.geocode_nearest_max_m, settings=settings)


@geocode_app.command("reverse")
def reverse(
    src: Annotated[Path, typer.Argument(help="Input: .csv (lat/lon columns), .geojson, .geojsonl or .parquet")],
    dst: Annotated[Path, typer.Argument(help="Output file; format from its extension")],
    in_format: Annotated[str | None, typer.Option("--in-format", help="csv|geojson|geojsonseq|parquet")] = None,
    out_format: Annotated[str | None, typer.Option("--out-format", help="csv|geojson|geojsonseq|parquet")] = None,
    batch_rows: Annotated[int, typer.Option(min=1000, help="Points per batch (memory bound)")] = 262_144,
) -> None:
    """Answer every point of SRC into DST (streamed: any size); bad rows keep an `error` column."""
    from geo_api.geocoding.batch import BatchFormatError
    from geo_api.geocoding.streams import reverse_file

    if not src.is_file():
        fail(f"{src} does not exist")
    if dst.resolve() == src.resolve():
        fail("the output must be a different file from the input")
    try:
        geo = _geocoder()
        t0 = time.perf_counter()
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TextColumn("{task.fields[rows]:,} points"), TimeElapsedColumn(), console=console,
                      transient=not sys.stderr.isatty()) as bar:
            task = bar.add_task(f"geocoding {src.name}", total=src.stat().st_size, rows=0)
            stats = reverse_file(geo.reverse, src, dst, src_format=in_format, dst_format=out_format,
                                 batch_rows=batch_rows,
                                 progress=lambda pos, rows: bar.update(task, completed=pos, rows=rows))
            bar.update(task, completed=src.stat().st_size)
    except (BatchFormatError, SatuPetaError) as exc:
        fail(getattr(exc, "detail", None) or str(exc))
    except Exception as exc:  # pyarrow/GDAL errors on a broken file: one line, no traceback
        fail(f"cannot geocode {src.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    dt = time.perf_counter() - t0
    console.print(f"{stats.rows:,} points in {dt:.1f} s ({stats.rows / max(dt, 1e-9):,.0f} points/s), "
                  f"{stats.errors:,} rows with errors → {dst}")


@geocode_app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="The address, e.g. 'Jl. Melati RT 3/5 Kel. Cibodas Sari'")],
    limit: Annotated[int, typer.Option(min=1, max=20)] = 5,
) -> None:
    """Print the ranked candidates for an address."""
    if not text.strip():
        fail("the address is empty")
    try:
        result = _geocoder().forward.search(text, limit=limit)
    except SatuPetaError as exc:
        fail(exc.detail)
    if not result["candidates"]:
        out.print("no candidates")
    for c in result["candidates"]:
        place = c["kelurahan"] or c["kecamatan"] or c["kabkota"]
        out.print(f"{c['score']:.3f}  {c['level']:<9} {place['kode']:<14} {place['nama']}, {c['kabkota']['nama']}")
