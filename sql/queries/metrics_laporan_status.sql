-- Laporan per status, for GET /metrics (every status kode, zero included: a graph needs the series).
SELECT k.kode AS status, count(l.id)::bigint AS n
FROM laporan_status_kode k LEFT JOIN laporan l ON l.status = k.kode
GROUP BY k.kode
ORDER BY k.kode
