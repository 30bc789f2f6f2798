"""The app-wide layer state: the catalog and the tile cache (one per app, held by geo_api.services.Services)."""

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

    def invalidate(self) -> None:
        """Every layer may have changed (a notification without a collection): reload the catalog, drop all tiles."""
        self.catalog.invalidate()
        self.tiles.clear()


def new_layer_service(settings: Settings) -> LayerService:
    """An empty catalog and tile cache sized by the settings (built once, by geo_api.services)."""
    return LayerService(Catalog(settings.layers_catalog_ttl_s), TileCache(settings.layers_tile_cache_mb * 1024 * 1024))

