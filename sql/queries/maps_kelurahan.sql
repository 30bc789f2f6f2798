-- Kelurahan boundaries for the maps, simplified to ~5 m (shared edges stay shared), with names and codes.
SELECT kode, nama, kec_kode, kec_nama, label_lat, label_lon,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00005), 6) AS geometry
FROM kelurahan
ORDER BY kode;
