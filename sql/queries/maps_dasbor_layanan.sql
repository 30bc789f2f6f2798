-- Each category's due time (the working-day SLA where the catalogue has that column and sets it, else the
-- estimate in days) and its laporan received in [dari, sampai] (WIB): received, open, overdue.
SELECT ly.kode, ly.nama, ly.perkiraan_hari,
       (to_jsonb(ly) ->> 'sla_hari_kerja')::int AS sla_hari_kerja,
       count(l.id)::bigint AS diterima,
       count(l.id) FILTER (WHERE sk.open311 = 'open')::bigint AS terbuka,
       count(l.id) FILTER (WHERE sk.open311 = 'open' AND l.expected_at < now())::bigint AS terlambat
FROM layanan AS ly
LEFT JOIN laporan AS l
  ON l.layanan_kode = ly.kode
 AND l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta'
 AND l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta'
LEFT JOIN laporan_status_kode AS sk ON sk.kode = l.status
WHERE ly.aktif OR l.id IS NOT NULL
GROUP BY ly.kode, ly.nama, ly.perkiraan_hari, (to_jsonb(ly) ->> 'sla_hari_kerja')
ORDER BY count(l.id) DESC, ly.nama;
