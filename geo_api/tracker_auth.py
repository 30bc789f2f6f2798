"""Tracker keys for OsmAnd ingest: a device sends positions for its own identifier only.

The OsmAnd protocol (and Traccar) carries no credentials, only the device identifier `id`. A tracker key
(`satupeta keys create NAME --role tracker --device ID`) is sent as one extra parameter, `key`, in the
device's server URL (OsmAnd's online tracking URL template, or the Traccar Client's server URL:
`http://host:5055/?key=sp_...`). Settings.fleet_tracker_auth chooses the policy: `required`
(the default: every device needs its own key), `bound` (devices with a live tracker key must present it; other
devices are unchanged) or `off` (plain Traccar). The parameter is removed from the fix before it is stored.
"""

from __future__ import annotations

import logging
import time

from psycopg_pool import AsyncConnectionPool

from geo_api.apikeys import key_hash
from geo_api.db import fetch_all, pooled
from geo_api.settings import Settings
from ingestion.osmand import Fix

log = logging.getLogger("satupeta.trackers")


class TrackerKeys:
    """The live tracker keys by device identifier, cached for fleet_tracker_keys_ttl_s and emptied at once by a
    `keys` change notice (geo_api/notify.py) from any process."""

    def __init__(self, settings: Settings, pool: AsyncConnectionPool):
        self.mode = settings.fleet_tracker_auth
        self.ttl = settings.fleet_tracker_keys_ttl_s
        self.pool = pool
        self._by_device: dict[str, set[str]] | None = None
        self._loaded_at = 0.0

    async def _keys(self) -> dict[str, set[str]]:
        now = time.monotonic()
        if self._by_device is None or now - self._loaded_at > self.ttl:
            try:
                async with pooled(self.pool) as conn:
                    rows = await fetch_all(conn, "trust_tracker_keys")
            except Exception:
                if self._by_device is None:
                    raise
                # The database is away: keep checking against the keys we know rather than refuse every fix.
                log.warning("tracker keys not refreshed (database unavailable); using the cached set")
                self._loaded_at = now
                return self._by_device
            by_device: dict[str, set[str]] = {}
            for r in rows:
                by_device.setdefault(r["device_unique_id"], set()).add(r["key_hash"])
            self._by_device, self._loaded_at = by_device, now
        return self._by_device

    def invalidate(self) -> None:
        """Re-read the keys on the next fix (a key was created, rotated, revoked or bound somewhere)."""
        self._by_device = None

    async def check(self, fix: Fix) -> tuple[int, str] | None:
        """None when the fix may be accepted, else (401 or 403, detail). Always strips `key` from the fix."""
        given = fix.attributes.pop("key", None)
        if self.mode == "off":
            return None
        hashes = (await self._keys()).get(fix.unique_id)
        if hashes is None and self.mode == "bound":
            return None
        if not given:
            return 401, f"Device {fix.unique_id!r} must send its tracker key (parameter key)"
        if hashes is None or key_hash(str(given)) not in hashes:
            return 403, f"This key may not send positions for device {fix.unique_id!r}"
        return None
