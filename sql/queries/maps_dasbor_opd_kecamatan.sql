-- Who is late, where: laporan received in [dari, sampai] (WIB) still open, and of those past their due time,
-- per OPD and kecamatan (only pairs with an open laporan).
SELECT l.opd_kode, l.kecamatan_kode,
       count(*)::bigint AS terbuka,
       count(*) FILTER (WHERE l.expected_at < now())::bigint AS terlambat
FROM laporan AS l
WHERE l.status IN (SELECT kode FROM laporan_status_kode WHERE open311 = 'open')
  AND l.kecamatan_kode IS NOT NULL
  AND l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta'
  AND l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta'
GROUP BY l.opd_kode, l.kecamatan_kode;
