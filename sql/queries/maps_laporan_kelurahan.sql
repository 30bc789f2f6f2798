-- Laporan per kelurahan (choropleth); kelurahan without laporan are counted as 0 by the builder.
SELECT l.kelurahan_kode AS kode, count(*)::bigint AS n
FROM laporan AS l
WHERE (%(layanan)s::text IS NULL OR l.layanan_kode = %(layanan)s)
  AND (%(opd)s::text IS NULL OR l.opd_kode = %(opd)s)
  AND (%(status)s::text IS NULL OR l.status = %(status)s OR (%(status)s IN ('terbuka', 'selesai') AND l.status IN (SELECT kode FROM laporan_status_kode
       WHERE open311 = CASE %(status)s WHEN 'terbuka' THEN 'open' ELSE 'closed' END)))
  AND (%(kecamatan)s::text IS NULL OR l.kecamatan_kode = %(kecamatan)s)
  AND (%(dari)s::date IS NULL OR l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta')
  AND (%(sampai)s::date IS NULL OR l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta')
  AND l.kelurahan_kode IS NOT NULL
GROUP BY l.kelurahan_kode;
