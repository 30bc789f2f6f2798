"""WMS and WFS at /ows: the mapfile generated from the catalog, served by MapServer 8 worker processes."""
