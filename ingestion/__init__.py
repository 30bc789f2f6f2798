"""Loaders and streams: the bundled data, layer files, GPS."""
