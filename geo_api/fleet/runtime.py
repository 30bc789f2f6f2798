"""Per-process ingest state: the device registry cache, per-device throttles, the sites, the group-commit writer.

One FleetRuntime per app, held by geo_api.services.Services (`Fleet` dependency); the listener app on its own
port shares it, or builds its own when it runs alone (`satupeta fleet listen`).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from geo_api import metrics
from geo_api.db import fetch_all, fetch_one, pooled
from geo_api.fleet.terlewat import MissedBoard
from geo_api.ratelimit import TokenBuckets
from geo_api.settings import Settings
from geo_api.tracker_auth import TrackerKeys
from ingestion import trips as det
from ingestion.fix_filters import FixFilter
from ingestion.fleet_sites import load_sites
from ingestion.fleet_writer import GroupCommitWriter, filter_config
from ingestion.osmand import Fix
from sql import query

_MISS_TTL = 10.0
_SITES_TTL = 60.0


class FleetRuntime:
    """Per-process ingest state: the device registry cache, per-device throttles, the group-commit writer."""

    def __init__(self, settings: Settings, pool: AsyncConnectionPool):
        self.settings = settings
        self.pool = pool
        self.writer = GroupCommitWriter(pool, batch_max=settings.fleet_batch_max, queue_max=settings.fleet_queue_max,
                                        fix_filter=FixFilter(filter_config(settings)),
                                        retention_days=settings.fleet_retention_days)
        self.writer.on_batch = metrics.group_commit
        self.devices: dict[str, int] = {}
        self._misses: dict[str, float] = {}
        self.buckets = TokenBuckets(settings.fleet_device_rate, settings.fleet_device_burst)
        self._loaded = False
        self._sites: tuple[float, list[det.Site] | None] | None = None
        self.trackers = TrackerKeys(settings, pool)
        self.missed = MissedBoard(settings)  # missed pickups, one computation per window end (fleet_terlewat)

    async def _load(self) -> None:
        async with pooled(self.pool) as conn:
            for row in await fetch_all(conn, "fleet_devices_all"):
                self._remember(row)
        self._loaded = True

    def _remember(self, row: dict[str, Any]) -> None:
        self.devices[row["unique_id"]] = row["id"]
        self.writer.filter.seed(row["id"], row["last_time"], row["last_lat"], row["last_lon"])

    async def device_id(self, unique_id: str) -> int | None:
        """The registered device id for an identifier; unknown ones are re-checked at most every 10 s."""
        if not self._loaded:
            await self._load()
        found = self.devices.get(unique_id)
        if found is not None:
            return found
        now = time.monotonic()
        if now - self._misses.get(unique_id, -_MISS_TTL) < _MISS_TTL:
            return None
        async with pooled(self.pool) as conn:
            row = await fetch_one(conn, "fleet_device_by_unique", {"unique_id": unique_id})
        if row is None:
            if len(self._misses) > 100_000:
                self._misses.clear()
            self._misses[unique_id] = now
            return None
        self._misses.pop(unique_id, None)
        self._remember(row)
        return row["id"]

    def forget(self, unique_id: str) -> None:
        """Drop a cached miss (after a registration through the API)."""
        self._misses.pop(unique_id, None)

    def throttle(self, unique_id: str) -> float | None:
        """Token bucket per device: None when allowed, else seconds until the next fix is accepted."""
        return self.buckets.take(unique_id)

    async def hold(self, fix: Fix) -> None:
        """Keep a fix of an unregistered device until it is registered."""
        async with pooled(self.pool) as conn:
            await conn.execute(query("fleet_held_insert"), {
                "unique_id": fix.unique_id[:128], "fix_time": fix.fix_time, "lat": fix.lat, "lon": fix.lon,
                "speed_kn": fix.speed_kn, "course": fix.course, "altitude": fix.altitude,
                "accuracy": fix.accuracy, "hdop": fix.hdop, "batt": fix.batt,
                "attributes": orjson.dumps(fix.attributes, default=str).decode() if fix.attributes else None})

    async def sites(self, conn: psycopg.AsyncConnection) -> list[det.Site] | None:
        """The disposal sites from the published layer, cached for a minute."""
        now = time.monotonic()
        if self._sites is None or now - self._sites[0] > _SITES_TTL:
            s = self.settings
            self._sites = (now, await load_sites(conn, s.fleet_sites_layer, s.fleet_site_radius_tps_m,
                                                 s.fleet_site_radius_tpa_m))
        return self._sites[1]

    def invalidate_sites(self) -> None:
        """Re-read the sites layer on next use."""
        self._sites = None
        self.missed.invalidate()

    def invalidate(self) -> None:
        """Re-read the device registry on next use (a device registered or rebound in another process)."""
        self._misses.clear()
        self._loaded = False
