"""OGC API – Features and Tiles over PostGIS: the catalog of collections, items, tiles, publishing."""

from layers import gdal as _gdal  # noqa: F401  (importing it turns GDAL network access off for the process)
