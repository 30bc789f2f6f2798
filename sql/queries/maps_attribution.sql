-- Data sources of the boundaries drawn on every map (the data_layer register).
SELECT id, title, attribution, licence
FROM data_layer
WHERE id IN ('kelurahan', 'kecamatan', 'batas_kota', 'kabkota_sekitar')
ORDER BY id;
