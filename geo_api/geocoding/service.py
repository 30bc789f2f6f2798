"""The process's geocoder as a service: built once from the database, off the event loop; streets kept current.

Owned by the app's `Services` (geo_api/services.py) and reached through `GeocoderDep`; requests never wait on
the database once it is built. The street index follows its published layer: re-indexed in the background after
a publish here (`on_layer_change`), when a periodic version check sees one from elsewhere, or on `invalidate()`
(the hook for a cross-process notification). `reload_streets` is the one way the street index changes.
"""

from __future__ import annotations

import asyncio
import logging
import time

from psycopg_pool import AsyncConnectionPool

from geo_api.db import fetch_all, pooled
from geo_api.geocoding import SOURCE_QUERIES, Geocoder, build_geocoder
from geo_api.geocoding.streets import StreetIndex, fetch_street_rows, street_stamp
from geo_api.settings import Settings

log = logging.getLogger("satupeta.geocode")


class GeocoderService:
    """Builds the Geocoder once (first use), off the event loop, and keeps its street index current."""

    def __init__(self, settings: Settings, pool: AsyncConnectionPool, read_pool: AsyncConnectionPool | None = None):
        """Reads the indexes through `read_pool` (a replica when configured) and the street stamp from `pool`."""
        self.settings = settings
        self.pool = pool
        self.read_pool = read_pool or pool
        self.geocoder: Geocoder | None = None
        self.lock = asyncio.Lock()
        self.street_lock = asyncio.Lock()
        self.checked = 0.0
        self.tasks: set[asyncio.Task] = set()
        # batch geocoding holds a whole body and its answer in memory: at most this many at once per process
        self.batch_gate = asyncio.Semaphore(settings.geocode_batch_concurrency)

    async def get(self) -> Geocoder:
        """The built Geocoder, loading its rows the first time; a street version check at most every interval."""
        if self.geocoder is None:
            async with self.lock:
                if self.geocoder is None:
                    self.geocoder = await self._build()
                    self.checked = time.monotonic()
        elif time.monotonic() - self.checked > self.settings.geocode_street_check_s:
            self.checked = time.monotonic()  # one check per interval, in the background: searches never wait
            self.spawn(self.reload_streets())
        return self.geocoder

    async def _build(self) -> Geocoder:
        rows = {}
        async with pooled(self.read_pool) as conn:
            for name in SOURCE_QUERIES:
                rows[name] = await fetch_all(conn, name)
            street_rows = await fetch_street_rows(conn, self.settings)
        return await asyncio.to_thread(_build_all, rows, street_rows, self.settings)

    def spawn(self, job) -> None:
        """Run a reload in the background (the task kept so it is not collected half-way)."""
        task = asyncio.get_running_loop().create_task(job)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def reload_streets(self, *, force: bool = False) -> bool:
        """Re-index the street layer if its published version changed (or `force`); True when swapped."""
        if self.geocoder is None:
            return False
        settings = self.settings
        async with self.street_lock:
            try:
                async with pooled(self.pool) as conn:
                    stamp = await street_stamp(conn, settings)
                    current = self.geocoder.forward.streets
                    if not force and stamp == (current.stamp if current is not None else None):
                        return False
                    got = await fetch_street_rows(conn, settings)
                index = await asyncio.to_thread(_street_index, got, settings)
            except Exception:  # keep the index in force: a failed reload must not take search down
                log.exception("street layer re-index failed; the previous street index stays")
                return False
            self.geocoder.set_streets(index)
            log.info("street index: %s streets from %r", len(index) if index else 0, settings.geocode_street_layer)
            return True

    def on_layer_change(self, collection_id: str) -> None:
        """A layer changed (LayerService listener): re-index when it is the street layer."""
        if collection_id == self.settings.geocode_street_layer:
            self.invalidate()

    def invalidate(self) -> None:
        """Re-check the street layer now, in the background (a no-op before the first build)."""
        if self.geocoder is not None:
            self.spawn(self.reload_streets())

    async def stop(self) -> None:
        """Cancel background re-indexing (app shutdown)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _street_index(got, settings: Settings) -> StreetIndex | None:
    if got is None:
        return None
    rows, stamp = got
    return StreetIndex(rows, layer=settings.geocode_street_layer, stamp=stamp)


def _build_all(rows, street_rows, settings: Settings) -> Geocoder:
    return build_geocoder(rows, tolerance_m=settings.geocode_gap_tolerance_m,
                          nearest_max_m=settings.geocode_nearest_max_m,
                          streets=_street_index(street_rows, settings))
