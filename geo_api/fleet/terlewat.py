"""Missed pickups as they happen, computed once per window end for the whole deployment.

A TPS becomes `terlewat` only when one of its windows ends without a visit, so the set of missed TPS of a day can
change only at a window end. Every live stream asks `MissedBoard.missed()`; the board finds the latest window end
at or before now (from the schedules alone, no fixes), and the first process to reach a new one computes the day's
pickups (as /fleet/pickups, judged at that window end) under a PostgreSQL advisory lock and stores the terlewat
TPS in `fleet_terlewat`. Every other worker waits on the lock and reads the row; within a process the answer is
kept per key, so N streams on M workers cost one computation per window end, and all of them announce the same TPS.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from psycopg.types.json import Jsonb

from geo_api.db import fetch_one, pooled
from geo_api.fleet import pickups as pk
from geo_api.fleet import service as svc
from geo_api.settings import Settings
from ingestion import jadwal as jd
from sql import query

_KEEP_KEYS = 64
log = logging.getLogger("satupeta.fleet.terlewat")


def schedules_digest(sched: Sequence[pk.ScheduledSite]) -> str:
    """A short digest of the schedules (site, jadwal, truck): a republished layer is a new key, in every process."""
    h = hashlib.sha256()
    for s in sorted(sched, key=lambda x: x.site.fid):
        h.update(f"{s.site.fid}\x1f{s.jadwal.text}\x1f{s.site.kendaraan or ''}\x1e".encode())
    return h.hexdigest()[:12]


def last_window_end(sched: Sequence[pk.ScheduledSite], d: date, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The latest end, at or before `now`, of a window that starts on day `d` (None: none has ended yet)."""
    ends = [end for s in sched for _, _, end in jd.occurrences(s.jadwal, d, tz) if end <= now]
    return max(ends, default=None)


class MissedBoard:
    """Per process: the terlewat TPS per (sites layer, day, window end), read from or stored in fleet_terlewat."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.tz = ZoneInfo(settings.fleet_timezone)
        self._known: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._lock = asyncio.Lock()
        self.computed = 0  # computations this process made (the others were read)
        self._parsed: tuple[Any, list[pk.ScheduledSite], str] | None = None

    async def missed(self, pool: Any, fleet: Any, heavy: Any, now: datetime | None = None
                     ) -> tuple[str, list[dict[str, Any]]]:
        """The day (ISO) and its TPS missed so far, as /fleet/pickups features with status terlewat."""
        now = now or datetime.now(self.tz)
        d = now.astimezone(self.tz).date()
        async with pooled(pool) as conn:
            sites = await fleet.sites(conn)
        if self._parsed is None or self._parsed[0] is not sites:  # the runtime keeps one list until it re-reads
            sched = pk.scheduled(sites)
            self._parsed = (sites, sched, schedules_digest(sched))
        _, sched, digest = self._parsed
        end = last_window_end(sched, d, self.tz, now)
        if end is None:
            return d.isoformat(), []
        layer = f"{self.settings.fleet_sites_layer}@{digest}"
        key = (layer, d.isoformat(), end.isoformat())
        if key not in self._known:
            async with self._lock:  # one computation per process at a time; the others then find the key
                if key not in self._known:
                    self._known[key] = await self._shared(pool, fleet, heavy, layer, d, end)
                    while len(self._known) > _KEEP_KEYS:
                        self._known.pop(next(iter(self._known)))
        return d.isoformat(), self._known[key]

    async def _shared(self, pool: Any, fleet: Any, heavy: Any, layer: str, d: date, end: datetime
                      ) -> list[dict[str, Any]]:
        p = {"layer": layer, "tanggal": d, "window_end": end}
        async with pooled(pool) as conn, conn.transaction():
            await conn.execute(query("fleet_terlewat_lock"), p)
            row = await fetch_one(conn, "fleet_terlewat_get", p)
            if row is not None:
                log.info("terlewat %s %s %s: read (%d TPS) pid=%d", layer, d, end.isoformat(), len(row["features"]),
                         os.getpid())
                return row["features"]
            fc = await svc.day_pickups(fleet, heavy, conn, self.settings, d, None, None, now=end)
            found = [f for f in fc["features"] if f["properties"]["status"] == jd.TERLEWAT]
            found = orjson.loads(orjson.dumps(found, default=str))  # as stored: what every reader gets
            await conn.execute(query("fleet_terlewat_put"), {**p, "features": Jsonb(found)})
            self.computed += 1
            log.info("terlewat %s %s %s: computed (%d TPS) pid=%d", layer, d, end.isoformat(), len(found),
                     os.getpid())
            return found

    def invalidate(self) -> None:
        """Forget the per-process answers (the sites layer changed)."""
        self._known.clear()
        self._parsed = None


class StreamMissed:
    """One live stream's view: the board's missed TPS, each TPS-day announced once on this stream."""

    def __init__(self, board: MissedBoard):
        self.board = board
        self.announced: set[tuple[str, str]] = set()

    async def event(self, pool: Any, fleet: Any, heavy: Any) -> bytes | None:
        """A `terlewat` SSE event with the newly missed TPS, or None."""
        day, found = await self.board.missed(pool, fleet, heavy)
        new = [f for f in found if (day, f["id"]) not in self.announced]
        if not new:
            return None
        self.announced.update((day, f["id"]) for f in new)
        body = {"type": "FeatureCollection", "date": day, "features": new}
        return b"event: terlewat\ndata: " + orjson.dumps(body, default=str) + b"\n\n"
