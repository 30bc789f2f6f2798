"""Change notifications between processes: PostgreSQL LISTEN/NOTIFY on one channel, `satupeta_changed`.

Every write that makes another process's cache stale sends `pg_notify('satupeta_changed', payload)` in its
own transaction (so the notice goes out exactly when the write commits, and never for a rolled-back one).
Audited writes do it through geo_api/audit.py (`topic_for(action, target)`), so the API and the CLI notify
alike; the few unaudited ones (catalogue loads, device registration) call `notify_sync`/`notify`.

Payload: a topic, optionally `topic:key`.
- `keys`            an API key was created, rotated, revoked or bound (the tracker-key cache is emptied; API keys
                    themselves are looked up per request, so a revoked key is refused at once anyway);
- `layer[:id]`      a layer was published, restored or unpublished (catalog reloaded, that layer's tiles dropped,
                    the street index re-built when it is the street layer, the fleet sites re-read);
- `streets`, `routing`, `fleet.devices`, `fleet.sites`: as geo_api/services.py `Services.invalidate`;
- `catalog`         a catalogue load (all layers: catalog and every tile).

Each app process (and a stand-alone OsmAnd listener) runs one `ChangeListener` task: a direct connection
(`Settings.direct_dsn`, never a transaction pooler) that LISTENs and hands each notice to its services. When
that connection is lost, every cache is dropped and the listener reconnects (with back-off): a notice sent
while it was away is not replayed, so nothing cached before the gap survives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg

from geo_api.settings import Settings
from sql import query

log = logging.getLogger("satupeta.notify")

CHANNEL = "satupeta_changed"
TOPICS = ("keys", "layer", "catalog", "streets", "routing", "fleet.devices", "fleet.sites")

# audit action prefix -> topic (the key, for layers, is the target's id)
_ACTION_TOPICS = {"key": "keys", "layer": "layer", "rule": "routing", "opd": "routing", "layanan": "routing",
                  "catalog": "catalog", "katalog": "catalog", "device": "fleet.devices", "site": "fleet.sites"}


def payload(topic: str, key: str | None = None) -> str:
    """The notice text for a topic (and key); refuses an unknown topic (a typo would invalidate nothing)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown change topic {topic!r}; one of {', '.join(TOPICS)}")
    return f"{topic}:{key}" if key else topic


def parse(text: str) -> tuple[str, str | None]:
    """(topic, key) from a notice's payload."""
    topic, _, key = text.partition(":")
    return topic, key or None


def topic_for(action: str, target: str) -> str | None:
    """The payload an audited action notifies (None: nothing cached depends on it, e.g. laporan.status)."""
    topic = _ACTION_TOPICS.get(action.split(".", 1)[0])
    if topic is None:
        return None
    key = target.split(":", 1)[1] if topic == "layer" and ":" in target else None
    return payload(topic, key)


def notify_sync(conn: psycopg.Connection, topic: str, key: str | None = None) -> None:
    """Send a notice in the connection's current transaction (delivered at its commit)."""
    conn.execute(query("notify_changed"), {"channel": CHANNEL, "payload": payload(topic, key)})


async def notify(conn: psycopg.AsyncConnection, topic: str, key: str | None = None) -> None:
    """The same on an async connection."""
    await conn.execute(query("notify_changed"), {"channel": CHANNEL, "payload": payload(topic, key)})


def apply(services: Any, topic: str, key: str | None = None) -> None:
    """Empty what a notice makes stale in one process's services (unknown topics are logged, not fatal)."""
    if topic == "keys":
        services.fleet.trackers.invalidate()
    elif topic == "catalog":
        services.invalidate("layer", None)
    elif topic == "layer":
        services.invalidate("layer", key)
        services.invalidate("fleet.sites")  # the sites are a published layer
    elif topic in TOPICS:
        services.invalidate(topic, key)
    else:
        log.warning("change notice with unknown topic %r ignored", topic)


def drop_all(services: Any) -> None:
    """Empty every cache (the LISTEN connection was lost: notices may have been missed)."""
    services.fleet.trackers.invalidate()
    for topic in ("layer", "streets", "routing", "fleet.devices", "fleet.sites"):
        try:
            services.invalidate(topic, None)
        except Exception:  # one service failing to reset must not keep the others stale
            log.exception("invalidating %s failed", topic)


class ChangeListener:
    """The LISTEN task of one process: notices go to `on_notice(topic, key)`; a lost connection to `on_reset()`."""

    def __init__(self, settings: Settings, on_notice: Callable[[str, str | None], None],
                 on_reset: Callable[[], None], *, retry_s: float = 1.0):
        self.settings = settings
        self.on_notice = on_notice
        self.on_reset = on_reset
        self.retry_s = retry_s
        self.connected = asyncio.Event()
        self.received = 0
        self.resets = 0
        self._task: asyncio.Task | None = None
        self._conn: psycopg.AsyncConnection | None = None

    def start(self) -> None:
        """Start listening on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="satupeta-listen")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        from geo_api.db import listen_connection

        delay, gap = self.retry_s, False
        while True:
            try:
                async with await listen_connection(self.settings) as conn:
                    self._conn = conn
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if gap:
                        # Back after a gap: what changed meanwhile was not heard; drop everything (again).
                        self._reset()
                    delay, gap = self.retry_s, False
                    self.connected.set()
                    async for n in conn.notifies():
                        self.received += 1
                        topic, key = parse(n.payload)
                        try:
                            self.on_notice(topic, key)
                        except Exception:
                            log.exception("change notice %r not applied", n.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("change listener has no connection (%s); caches dropped, reconnecting",
                            (str(exc).splitlines() or [type(exc).__name__])[0])
            self._conn = None
            self.connected.clear()
            gap = True
            self._reset()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _reset(self) -> None:
        self.resets += 1
        try:
            self.on_reset()
        except Exception:
            log.exception("dropping caches failed")

    async def break_connection(self) -> None:
        """Close the LISTEN connection (tests: what a network cut or server restart does)."""
        if self._conn is not None:
            await self._conn.close()


class FleetOnly:
    """The services of a stand-alone OsmAnd listener: only its FleetRuntime has caches to empty."""

    def __init__(self, fleet: Any):
        self.fleet = fleet

    def invalidate(self, topic: str, key: str | None = None) -> None:
        """Fleet topics reach the runtime; the others name caches this process does not have."""
        if topic == "fleet.devices":
            self.fleet.invalidate()
        elif topic == "fleet.sites":
            self.fleet.invalidate_sites()


@contextlib.asynccontextmanager
async def listening(settings: Settings, services: Any) -> AsyncIterator[ChangeListener]:
    """Run a ChangeListener for these services (a Services, or `FleetOnly`) while the block runs."""
    listener = ChangeListener(settings, lambda t, k: apply(services, t, k), lambda: drop_all(services))
    listener.start()
    try:
        yield listener
    finally:
        await listener.stop()
