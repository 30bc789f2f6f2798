-- Where a point lies: the city's kelurahan first, then a neighbouring desa/kelurahan, then a kab/kota outline.
-- UNION ALL + LIMIT 1 stops at the first branch that answers (each branch is one gist-indexed lookup).
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g)
(SELECT k.kode AS kelurahan_kode, k.nama AS kelurahan_nama, k.kec_kode AS kecamatan_kode,
        k.kec_nama AS kecamatan_nama, k.kab_kode AS kabkota_kode, k.kab_nama AS kabkota_nama, 1 AS urutan
 FROM kelurahan k, p WHERE ST_Intersects(k.geom, p.g) ORDER BY k.kode LIMIT 1)
UNION ALL
(SELECT t.kode, t.nama, t.kec_kode, t.kec_nama, t.kab_kode, t.kab_nama, 2
 FROM tetangga_desa_kelurahan t, p WHERE ST_Intersects(t.geom, p.g) ORDER BY t.kode LIMIT 1)
UNION ALL
(SELECT NULL, NULL, NULL, NULL, s.kode, s.nama, 3
 FROM kabkota_sekitar s, p WHERE ST_Intersects(s.geom, p.g) ORDER BY s.kode <> '36.71', s.kode LIMIT 1)
LIMIT 1;
