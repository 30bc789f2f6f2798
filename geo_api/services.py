"""The app's services, in one place: built once in the lifespan, reached through the Annotated deps in deps.py.

Where each one lives and what it holds:

- `geocoder`  GeocoderService (geo_api/geocoding/service.py): reverse and forward indexes, the street gazetteer;
- `layers`    LayerService (layers/service.py): the catalog of collections and the vector-tile cache;
- `routing`   RoutingCache (geo_api/routing/service.py): the OPD rule set in force;
- `fleet`     FleetRuntime (geo_api/fleet/runtime.py): device registry, throttles, sites, the group-commit writer;
- `heavy`     HeavyWork: a bounded pool of worker threads for CPU-heavy work (map pages, fleet detection).

Every service has `invalidate()`: it drops what it caches, so the next use reads PostgreSQL again. A change made
in another process (a NOTIFY, a CLI command) reaches the right one through `Services.invalidate(topic)`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from psycopg_pool import AsyncConnectionPool

from geo_api.fleet.evidence import EvidenceSource
from geo_api.fleet.runtime import FleetRuntime
from geo_api.geocoding.service import GeocoderService
from geo_api.media import MediaStore
from geo_api.routing.service import RoutingCache
from geo_api.settings import Settings
from layers.ows.service import OwsService
from layers.service import LayerService, new_layer_service

log = logging.getLogger("satupeta.services")

# What a change notification names, and what it empties. "layer" carries the collection id (None: all layers).
TOPICS = ("layer", "streets", "routing", "fleet.devices", "fleet.sites")
T = TypeVar("T")


class HeavyWork:
    """CPU-heavy work (folium page builds, fleet detection) in worker threads, at most `threads` at once."""

    def __init__(self, threads: int):
        """The limiter is made on first use, inside the running loop."""
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The bounded limiter every heavy job waits on."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) in a worker thread; the event loop keeps serving meanwhile."""
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=self.limiter)


@dataclass
class Services:
    """Everything one process keeps in memory between requests; nothing is created lazily in a router."""

    settings: Settings
    geocoder: GeocoderService
    layers: LayerService
    routing: RoutingCache
    fleet: FleetRuntime
    heavy: HeavyWork = field(default_factory=lambda: HeavyWork(2))
    ows: OwsService | None = None  # WMS/WFS at /ows: the generated map and the MapServer workers (ows/)
    media: MediaStore | None = None  # laporan photos (geo_api/media.py), under settings.media_dir

    def invalidate(self, topic: str, key: str | None = None) -> None:
        """Empty the caches a change of `topic` makes stale (`key`: the collection id for "layer")."""
        handlers: dict[str, Callable[[], None]] = {
            "layer": lambda: self._layer_changed(key),
            "streets": self.geocoder.invalidate,
            "routing": self.routing.invalidate,
            "fleet.devices": self.fleet.invalidate,
            "fleet.sites": self.fleet.invalidate_sites,
        }
        handler = handlers.get(topic)
        if handler is None:
            raise ValueError(f"unknown invalidation topic {topic!r}; one of {', '.join(TOPICS)}")
        handler()

    def _layer_changed(self, key: str | None) -> None:
        if key:
            self.layers.changed(key)
        else:
            self.layers.invalidate()
        if self.ows is not None:
            self.ows.invalidate()

    async def stop(self) -> None:
        """Stop background work (app shutdown): street re-indexing is cancelled, the fleet writer drains."""
        await self.geocoder.stop()
        await self.fleet.writer.stop()
        if self.ows is not None:
            await self.ows.close()


def build_services(settings: Settings, pool: AsyncConnectionPool,
                   read_pool: AsyncConnectionPool | None = None) -> Services:
    """The services of one app over its pools (nothing touches the database until first use)."""
    layers = new_layer_service(settings)
    geocoder = GeocoderService(settings, pool, read_pool)
    layers.listeners.append(geocoder.on_layer_change)
    fleet = FleetRuntime(settings, pool)
    built = Services(settings=settings, geocoder=geocoder, layers=layers,
                    routing=RoutingCache(settings.routing_triase_opd, EvidenceSource(settings, fleet)), fleet=fleet,
                    heavy=HeavyWork(settings.heavy_work_threads), media=MediaStore(settings.media_dir))
    built.ows = OwsService(settings)
    return built


def services(state) -> Services:
    """The Services an app's lifespan put on app.state (a clear error when the lifespan did not run)."""
    found = getattr(state, "services", None)
    if found is None:
        raise RuntimeError("app.state.services is missing: build the app with create_app and run its lifespan")
    return found
