-- Service performance per OPD for laporan received in [dari, sampai] (dates in WIB, the city's time zone),
-- plus a city-wide total row (kode NULL). Closed and open are the statuses' Open311 kinds (laporan_status_kode);
-- time to close runs from intake to the first status of the closed kind (fixed, closed, ...).
WITH l AS (
    SELECT l.opd_kode, (k.open311 = 'closed') AS tutup, l.expected_at, l.requested_at,
           (SELECT min(s.pada) FROM laporan_status AS s JOIN laporan_status_kode AS sk ON sk.kode = s.status
            WHERE s.laporan_id = l.id AND sk.open311 = 'closed') AS closed_at, l.updated_at
    FROM laporan AS l
    JOIN laporan_status_kode AS k ON k.kode = l.status
    WHERE l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta'
      AND l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta'
), d AS (
    SELECT l.*, extract(epoch FROM coalesce(l.closed_at, l.updated_at) - l.requested_at) / 3600.0 AS jam
    FROM l
)
SELECT o.kode, o.nama, o.singkatan, o.luar_kota, o.jenis, g.nama AS wilayah_nama,
       count(*)::bigint AS diterima,
       count(*) FILTER (WHERE NOT d.tutup)::bigint AS terbuka,
       count(*) FILTER (WHERE d.tutup)::bigint AS selesai,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY d.jam) FILTER (WHERE d.tutup) AS median_jam,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY d.jam) FILTER (WHERE d.tutup) AS p90_jam,
       count(*) FILTER (WHERE NOT d.tutup AND d.expected_at < now())::bigint AS terlambat
FROM d
JOIN opd AS o ON o.kode = d.opd_kode
LEFT JOIN gazetteer AS g ON g.kode = o.wilayah_kode
GROUP BY GROUPING SETS ((o.kode, o.nama, o.singkatan, o.luar_kota, o.jenis, g.nama), ())
ORDER BY o.kode IS NOT NULL, count(*) DESC, o.kode;
