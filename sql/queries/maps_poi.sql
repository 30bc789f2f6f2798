-- Points of interest (OSM, the bundled 3 km ring) for the maps' optional "Titik penting" overlay.
SELECT name, category, desa_kel_nama, ST_Y(geom) AS lat, ST_X(geom) AS lon
FROM poi
WHERE name IS NOT NULL
ORDER BY osm_ref;
