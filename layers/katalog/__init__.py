"""The node's metadata catalogue: SNI 8843-1 records per layer version (pygeometa), CSW 2.0.2, OGC API - Records
items, and whole-layer downloads through GDAL."""
