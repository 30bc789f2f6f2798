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
    from geo_api.cli import _fail, _settings, console
    from geo_api.errors import SatuPetaError
    from maps.export import export_all

    settings = _settings()
    if out_dir.exists() and not out_dir.is_dir():
        _fail(f"{out_dir} exists and is not a folder")
    try:
        written = asyncio.run(export_all(settings, out_dir, only_layers=layer))
    except SatuPetaError as exc:
        _fail(exc.detail)
    except OSError as exc:
        _fail(f"cannot write to {out_dir}: {exc}")
    for path, note in written:
        console.print(f"  {path}" + (f"  ({note})" if note else ""), markup=False, highlight=False)
    console.print(f"wrote {len(written)} page(s) and static/ to {out_dir}")
