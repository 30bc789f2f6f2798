"""The app-wide layer state: the catalog and the tile cache, created on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from geo_api.settings import Settings
from layers.catalog import Catalog
from layers.tiles import TileCache


@dataclass
class LayerService:
    """What the OGC and admin routes share in one process."""

    catalog: Catalog
    tiles: TileCache
    # Called with the collection id after each change here (the geocoder re-indexes its street layer).
    listeners: list[Callable[[str], None]] = field(default_factory=list)

    def changed(self, collection_id: str) -> None:
        """A layer was published, restored or unpublished here: reload the catalog, drop its tiles, tell listeners."""
        self.catalog.invalidate()
        self.tiles.invalidate(collection_id)
        for listener in self.listeners:
            listener(collection_id)


def layer_service(state, settings: Settings) -> LayerService:
    """The service kept on app.state (built lazily so the app factory needs no change for it)."""
    svc = getattr(state, "layer_service", None)
    if svc is None:
        svc = LayerService(Catalog(settings.layers_catalog_ttl_s),
                           TileCache(settings.layers_tile_cache_mb * 1024 * 1024))
        state.layer_service = svc
    return svc
