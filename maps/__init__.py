"""Folium web maps for GIS officers and OPD heads, with the vendored assets they load."""
