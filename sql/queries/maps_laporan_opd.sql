-- Laporan per OPD under the filters (legend, colours), with the OPD's name, and for an office of a wilayah
-- (kecamatan, kelurahan, neighbouring kab/kota) that wilayah's gazetteer name for its short label.
SELECT l.opd_kode AS kode, o.nama, o.singkatan, o.luar_kota, o.jenis, g.nama AS wilayah_nama, count(*)::bigint AS n
FROM laporan AS l
JOIN opd AS o ON o.kode = l.opd_kode
LEFT JOIN gazetteer AS g ON g.kode = o.wilayah_kode
WHERE (%(layanan)s::text IS NULL OR l.layanan_kode = %(layanan)s)
  AND (%(opd)s::text IS NULL OR l.opd_kode = %(opd)s)
  AND (%(status)s::text IS NULL OR l.status = %(status)s OR (%(status)s IN ('terbuka', 'selesai') AND l.status IN (SELECT kode FROM laporan_status_kode
       WHERE open311 = CASE %(status)s WHEN 'terbuka' THEN 'open' ELSE 'closed' END)))
  AND (%(kecamatan)s::text IS NULL OR l.kecamatan_kode = %(kecamatan)s)
  AND (%(dari)s::date IS NULL OR l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta')
  AND (%(sampai)s::date IS NULL OR l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta')
GROUP BY l.opd_kode, o.nama, o.singkatan, o.luar_kota, o.jenis, g.nama
ORDER BY n DESC, l.opd_kode;
