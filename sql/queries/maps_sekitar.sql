-- Neighbouring kab/kota, simplified more (context only), for hand-offs and orientation.
SELECT kode, nama, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0002), 5) AS geometry
FROM kabkota_sekitar
ORDER BY kode;
