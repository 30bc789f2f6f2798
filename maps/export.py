"""Standalone export: every map as an HTML file whose assets sit in static/ next to it (no server, no CDN)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from geo_api.errors import ServiceUnavailable
from geo_api.settings import Settings
from maps.assets import copy_static
from maps.base import BaseData, MapOptions
from maps.data import load_base, table_exists
from maps.index import build_index, href
from maps.layer import build_layer_map, load_layer

log = logging.getLogger("satupeta.maps")

# Thematic pages (laporan, armada, dasbor): name -> async builder(conn, base, opts, settings) -> (html, note).
PageBuilder = Callable[[psycopg.AsyncConnection, BaseData, MapOptions, Settings], Awaitable[tuple[str, str]]]


def page_builders() -> dict[str, PageBuilder]:
    """The thematic maps that exist in this build, by page name."""
    from maps import pages

    return pages.BUILDERS


async def export_all(settings: Settings, out_dir: Path, *, only_layers: list[str] | None = None
                     ) -> list[tuple[Path, str]]:
    """Write index.html, the thematic maps and one Layer map per collection; returns (path, note) pairs."""
    from layers.catalog import Catalog

    try:
        conn = await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True,
                                                     connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable(f"Cannot reach the database: {str(exc).strip().splitlines()[0]}") from exc
    opts = MapOptions(asset_base="static/", tile_url=settings.maps_tile_url,
                      tile_attribution=settings.maps_tile_attribution, api_base=None)
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_static(out_dir)
    written: list[tuple[Path, str]] = []
    async with conn:
        base = await load_base(conn)
        # a table without a geometry (crosswalk_bps) is an OGC collection but has nothing to map
        collections = [c for c in (await Catalog(ttl=0).all(conn)).values() if c.has_geometry]
        if only_layers:
            collections = [c for c in collections if c.id in only_layers]
        from maps.pages import REQUIRES

        for name, builder in page_builders().items():
            if not await table_exists(conn, REQUIRES[name]):
                written.append((out_dir / href(name, None, served=False),
                                f"skipped: {REQUIRES[name]} missing, run `satupeta db migrate`"))
                continue
            markup, note = await builder(conn, base, opts, settings)
            written.append((_write(out_dir / href(name, None, served=False), markup), note))
        for c in collections:
            markup = build_layer_map(base, await load_layer(conn, c), opts)
            written.append((_write(out_dir / href("layer", c.id, served=False), markup), ""))
        written.insert(0, (_write(out_dir / "index.html", build_index(collections, served=False)), ""))
    return written


def _write(path: Path, markup: str) -> Path:
    path.write_text(markup, encoding="utf-8")
    return path
