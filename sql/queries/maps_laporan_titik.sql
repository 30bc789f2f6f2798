-- Individual laporan for the map (newest first, capped), optionally inside a bbox; no personal data.
SELECT l.id, l.lat, l.lon, l.status, l.opd_kode, l.layanan_kode, ly.nama AS layanan_nama,
       left(l.deskripsi, 300) AS deskripsi, l.alasan_teks, l.keputusan, l.kabkota_kode,
       to_char(l.requested_at AT TIME ZONE 'Asia/Jakarta', 'DD-MM-YYYY HH24:MI "WIB"') AS diterima,
       k.nama AS kelurahan_nama
FROM laporan AS l
JOIN layanan AS ly ON ly.kode = l.layanan_kode
LEFT JOIN kelurahan AS k ON k.kode = l.kelurahan_kode
WHERE (%(layanan)s::text IS NULL OR l.layanan_kode = %(layanan)s)
  AND (%(opd)s::text IS NULL OR l.opd_kode = %(opd)s)
  AND (%(status)s::text IS NULL OR l.status = %(status)s OR (%(status)s IN ('terbuka', 'selesai') AND l.status IN (SELECT kode FROM laporan_status_kode
       WHERE open311 = CASE %(status)s WHEN 'terbuka' THEN 'open' ELSE 'closed' END)))
  AND (%(kecamatan)s::text IS NULL OR l.kecamatan_kode = %(kecamatan)s)
  AND (%(dari)s::date IS NULL OR l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta')
  AND (%(sampai)s::date IS NULL OR l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta')
  AND (%(minx)s::float8 IS NULL OR l.geom && ST_MakeEnvelope(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s, 4326))
ORDER BY l.requested_at DESC, l.id DESC
LIMIT %(limit)s;
