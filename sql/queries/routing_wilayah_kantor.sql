-- The territories that get an office or hand-off entry: kecamatan, kelurahan, neighbouring kab/kota.
SELECT 'kecamatan' AS jenis, kode, nama FROM kecamatan
UNION ALL SELECT 'kelurahan', kode, nama FROM kelurahan
UNION ALL SELECT 'kabkota_tetangga', kode, nama FROM kabkota_sekitar WHERE kode <> '36.71'
ORDER BY 1, 2;
