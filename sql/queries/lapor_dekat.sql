-- Open laporan of the same category near a point, within the category's duplicate radius and days: the same
-- test the intake's duplicate link uses (open311_laporan_insert), listed for the citizen before submitting.
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
s AS (SELECT duplikat_radius_m, duplikat_hari FROM layanan WHERE kode = %(layanan_kode)s)
SELECT l.id, l.deskripsi, l.requested_at, k.nama AS status_nama,
       round(ST_Distance(l.geom::geography, p.g::geography)::numeric, 0)::float AS jarak_m
FROM laporan l JOIN laporan_status_kode k ON k.kode = l.status, p, s
WHERE l.layanan_kode = %(layanan_kode)s
  AND k.open311 = 'open'
  AND l.kemungkinan_duplikat_dari IS NULL
  AND l.requested_at >= now() - make_interval(days => s.duplikat_hari)
  AND ST_DWithin(l.geom, p.g, s.duplikat_radius_m / 100000.0)
  AND ST_DWithin(l.geom::geography, p.g::geography, s.duplikat_radius_m)
ORDER BY jarak_m LIMIT 5;
