-- Polygons for the in-memory reverse index: kelurahan, neighbouring desa/kelurahan and kab/kota outlines.
SELECT 'kelurahan' AS lapis, kode, nama, jenis, kec_kode, kec_nama, kab_kode, kab_nama, kodepos,
       label_lat, label_lon, ST_AsBinary(geom) AS wkb
FROM kelurahan
UNION ALL
SELECT 'tetangga', kode, nama, jenis, kec_kode, kec_nama, kab_kode, kab_nama, kodepos,
       label_lat, label_lon, ST_AsBinary(geom)
FROM tetangga_desa_kelurahan
UNION ALL
SELECT 'kabkota', kode, nama, NULL, NULL, NULL, kode, nama, NULL, NULL, NULL, ST_AsBinary(geom)
FROM kabkota_sekitar
ORDER BY 1, 2;
