"""The server's timer for the LAKSA clock: runs the periodic job (escalation, auto-close) every
`laksa_timer_seconds` while the app is up. Safe with many processes: the job skips rows another holds and is
idempotent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from typing import Any

from geo_api.audit import Actor
from geo_api.db import pooled
from geo_api.laksa import siklus
from geo_api.laksa.kalender import dari_katalog

log = logging.getLogger("satupeta.laksa")
TIMER_ACTOR = Actor("sistem", "laksa-timer")


async def one_round(pool: Any, now: datetime | None = None) -> dict[str, int]:
    """One run of the clock job as the timer does it (actor sistem:laksa-timer), on a connection of `pool`."""
    async with pooled(pool) as conn:
        counts = await siklus.jalankan_jam(conn, dari_katalog(), TIMER_ACTOR, now=now)
    if any(counts.values()):
        log.info("laksa timer: %s", counts)
    return counts


async def _loop(pool: Any, every: float) -> None:
    while True:
        try:
            await one_round(pool)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database may be away: try again next round, never stop the timer
            log.warning("laksa timer round failed: %s", type(exc).__name__)
        await asyncio.sleep(every)


@asynccontextmanager
async def running(settings: Any, pool: Any) -> AsyncIterator[None]:
    """Run the LAKSA timer for the app's lifetime (off when laksa_timer_seconds is 0)."""
    every = float(getattr(settings, "laksa_timer_seconds", 0) or 0)
    if every <= 0:
        yield
        return
    task = asyncio.create_task(_loop(pool, every), name="laksa-timer")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
