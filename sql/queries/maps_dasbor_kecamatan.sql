-- Laporan received in [dari, sampai] (WIB) per kecamatan: received, open, closed, overdue.
SELECT k.kode, k.nama,
       count(l.id)::bigint AS diterima,
       count(l.id) FILTER (WHERE sk.open311 = 'open')::bigint AS terbuka,
       count(l.id) FILTER (WHERE sk.open311 = 'closed')::bigint AS selesai,
       count(l.id) FILTER (WHERE sk.open311 = 'open' AND l.expected_at < now())::bigint AS terlambat
FROM kecamatan AS k
LEFT JOIN laporan AS l
  ON l.kecamatan_kode = k.kode
 AND l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta'
 AND l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta'
LEFT JOIN laporan_status_kode AS sk ON sk.kode = l.status
GROUP BY k.kode, k.nama
ORDER BY k.kode;
