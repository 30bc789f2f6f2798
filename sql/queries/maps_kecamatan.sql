-- Kecamatan boundaries for the maps, with names, codes and label points.
SELECT kode, nama, label_lat, label_lon,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00005), 6) AS geometry
FROM kecamatan
ORDER BY kode;
