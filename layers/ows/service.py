"""The OWS service of one process: the map (generated from the catalog) per catalog version, and the engine.

The map's version key hangs on every collection's data stamp, its text and its styles, so a layer published,
changed or unpublished anywhere is in or out of the next request's map: the catalog and the style cache here
are emptied by the `layer` change notice every process LISTENs for (geo_api/notify.py → Services.invalidate).
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from geo_api.db import fetch_all, fetch_one
from geo_api.settings import Settings
from layers.catalog import Catalog, Collection
from layers.ows.engine import EngineError, MapJob, MapServerPool
from layers.ows.exceptions import OwsError
from layers.ows.mapfile import LayerEntry, layer_type, map_key, mapfile, usable
from layers.ows.styles import Style, standard_point_png, styles_for

log = logging.getLogger("satupeta.ows")

FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class MapVersion:
    """One generated map: its key, the layers by name, and the mapfile text (held in memory only)."""

    key: str
    layers: dict[str, LayerEntry]
    text: str


class OwsService:
    """Builds the map from the catalog when it changed, and runs requests on the MapServer pool."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool = MapServerPool(settings.ows_python, settings.ows_workers, settings.ows_timeout_s)
        self._extra: tuple[dict, dict] | None = None
        self._extra_at = 0.0
        self._map: MapVersion | None = None
        self._lock = asyncio.Lock()
        self._dir: Path | None = None
        self._sld: dict[tuple[str, str, str, str], dict] = {}  # translated uploaded styles, by their SLD text

    def invalidate(self) -> None:
        """A layer or its style changed: re-read uploaded styles and metadata texts on the next request."""
        self._extra = None

    def _private_dir(self) -> Path:
        """A 0700 folder for the fontset and feature-info templates (nothing secret is ever written here)."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="satupeta-ows-"))
            os.chmod(self._dir, 0o700)
            font = next((f for f in FONTS if Path(f).exists()), FONTS[0])
            (self._dir / "fonts.txt").write_text(f"sans {font}\n", encoding="utf-8")
            (self._dir / "tpl").mkdir()
            (self._dir / "titik_standar.png").write_bytes(standard_point_png())
        return self._dir

    async def _extras(self, conn: psycopg.AsyncConnection) -> tuple[dict, dict]:
        """(uploaded styles by layer, metadata texts by collection), cached until a layer notice."""
        if self._extra is None or time.monotonic() - self._extra_at > self.settings.layers_catalog_ttl_s:
            styles: dict[str, list] = {}
            for r in await fetch_all(conn, "ows_styles"):
                styles.setdefault(r["layer_id"], []).append(r)
            texts: dict[str, dict] = {}
            has_meta = await fetch_one(conn, "ows_has_metadata")
            if has_meta and has_meta["present"]:
                texts = {r["collection_id"]: r for r in await fetch_all(conn, "ows_layer_text")}
            self._extra, self._extra_at = (styles, texts), time.monotonic()
        return self._extra

    def _entry(self, c: Collection, uploaded: list[Style], text: dict | None) -> LayerEntry:
        keywords = tuple(text["keywords"]) if text and text.get("keywords") else (c.kind, c.opd or "Satu Peta")
        return LayerEntry(
            collection=c, styles=tuple(styles_for(c.id, c.kind, c.geometry_type or "")), uploaded=tuple(uploaded),
            title=(text or {}).get("title") or c.title, abstract=(text or {}).get("abstract") or c.description
            or f"{c.title}. Sumber: {c.attribution}. Lisensi: {c.licence}.",
            keywords=keywords)

    async def _translated(self, c: Collection, rows: list) -> tuple[list[Style], list[str]]:
        """The layer's uploaded styles (newest first) as class groups, and the mark symbols they name.

        MapServer's own SLD reader does the translation (once per SLD text, in a worker); a style it cannot
        translate is left out of the map and logged, the layer keeps its other styles."""
        kind = layer_type(c.geometry_type or "")
        styles: list[Style] = []
        symbols: list[str] = []
        for r in reversed(rows):
            key = (c.id, r["name"], kind, r["sld"])
            if key not in self._sld:
                try:
                    self._sld[key] = await self.pool.sld_classes(c.id, kind, r["name"], r["title"] or r["name"],
                                                                 r["sld"])
                except EngineError as exc:
                    log.warning("uploaded style %s of %s cannot be drawn: %s", r["name"], c.id, str(exc)[:200])
                    continue
            done = self._sld[key]
            styles.append(Style(r["name"], r["title"] or r["name"], done["classes"]))
            symbols += done["symbols"]
        return styles, symbols

    def _templates(self, entries: list[LayerEntry]) -> None:
        tpl = self._private_dir() / "tpl"
        for e in entries:
            rows = "".join(f'<tr><th>{html.escape(col.name)}</th><td>[item name="{col.name}" escape="html"]</td></tr>'
                           for col in e.collection.columns)
            page = (f"<!-- MapServer Template -->\n<table class=\"fitur\"><caption>{html.escape(e.title)}"
                    f"</caption>{rows}</table>\n")
            (tpl / f"{e.collection.id}.html").write_text(page, encoding="utf-8")

    async def current(self, conn: psycopg.AsyncConnection, catalog: Catalog) -> MapVersion:
        """The map for the catalog as it is now (rebuilt only when a collection, text or style changed)."""
        collections = await catalog.all(conn)
        styles, texts = await self._extras(conn)
        usable_ones = [c for c in sorted(collections.values(), key=lambda c: (c.kind, c.id)) if usable(c)]
        names_only = [self._entry(c, [Style(r["name"], r["title"] or r["name"], "")
                                      for r in reversed(styles.get(c.id, []))], texts.get(c.id))
                      for c in usable_ones]
        stamp = "|".join(f"{lid}:{r['name']}:{r['created_at'].isoformat()}" for lid, rs in sorted(styles.items())
                         for r in rs)
        key = map_key(names_only, stamp)
        if self._map is not None and self._map.key == key:
            return self._map
        async with self._lock:
            if self._map is None or self._map.key != key:
                entries, symbols = [], []
                for c in usable_ones:
                    uploaded, marks = await self._translated(c, styles.get(c.id, []))
                    entries.append(self._entry(c, uploaded, texts.get(c.id)))
                    symbols += marks
                self._templates(entries)
                text = mapfile(entries, self.settings.dsn, max_size=self.settings.ows_max_size,
                               fontset=str(self._private_dir() / "fonts.txt"), title="Satu Peta Kota Tangerang",
                               symbols=tuple(symbols))
                self._map = MapVersion(key, {e.collection.id: e for e in entries}, text)
        return self._map

    async def run(self, version: MapVersion, query_string: str, online: str, *, ordered: bool = False
                  ) -> tuple[str, bytes]:
        """MapServer's answer to a checked request (`ordered`: a WFS GetFeature, read in a stable order for
        paging); an engine failure becomes an OGC exception."""
        job = MapJob(version.key, version.text, str(self._private_dir()) + "/", query_string, online, ordered)
        try:
            return await self.pool.run(job)
        except EngineError as exc:
            if exc.crashed:
                raise OwsError("NoApplicableCode", None, "the map server could not answer this request; "
                               "try again", status=503) from None
            log.info("MapServer refused a request: %s", str(exc)[:300])
            raise OwsError("NoApplicableCode", None, _engine_message(str(exc))) from None

    async def close(self) -> None:
        """Stop the workers and remove the private folder."""
        await self.pool.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _engine_message(text: str) -> str:
    """MapServer's message without anything that could name the connection (host, user, password)."""
    first = text.splitlines()[0] if text else "map server error"
    if "connect" in first.lower() or "password" in first.lower() or "host=" in first:
        return "the map server could not reach the data"
    return first[:300]
