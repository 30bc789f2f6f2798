"""OGC API – Features and Tiles over PostGIS: the catalog of collections, items, tiles, publishing."""
