-- Laporan handed off to a neighbouring kab/kota (a point in another kab/kota; a body such as BBPJN taking a laporan
-- inside the city is no hand-off across the border), per kab/kota: count and the kab/kota's label point.
SELECT l.kabkota_kode AS kode, ks.nama, count(*)::bigint AS n,
       ST_Y(ST_PointOnSurface(ks.geom)) AS lat, ST_X(ST_PointOnSurface(ks.geom)) AS lon
FROM laporan AS l
JOIN kabkota_sekitar AS ks ON ks.kode = l.kabkota_kode
WHERE (%(layanan)s::text IS NULL OR l.layanan_kode = %(layanan)s)
  AND (%(opd)s::text IS NULL OR l.opd_kode = %(opd)s)
  AND (%(status)s::text IS NULL OR l.status = %(status)s OR (%(status)s IN ('terbuka', 'selesai') AND l.status IN (SELECT kode FROM laporan_status_kode
       WHERE open311 = CASE %(status)s WHEN 'terbuka' THEN 'open' ELSE 'closed' END)))
  AND (%(kecamatan)s::text IS NULL OR l.kecamatan_kode = %(kecamatan)s)
  AND (%(dari)s::date IS NULL OR l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta')
  AND (%(sampai)s::date IS NULL OR l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta')
  AND l.keputusan = 'serah_terima'
  AND NOT EXISTS (SELECT 1 FROM kecamatan AS kc WHERE kc.kode LIKE l.kabkota_kode || '.%%')  -- the city's own
GROUP BY l.kabkota_kode, ks.nama, ks.geom;
