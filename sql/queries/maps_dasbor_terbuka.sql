-- Open laporan (received in [dari, sampai], WIB) per OPD for the dashboard map: at most %(per_opd)s per OPD
-- (newest first) and the OPD's full open count, so the page stays small at any volume.
SELECT opd_kode, id, lat, lon, layanan_nama, terlambat, n_opd
FROM (
    SELECT l.opd_kode, l.id, l.lat, l.lon, ly.nama AS layanan_nama,
           (l.expected_at < now()) AS terlambat,
           row_number() OVER (PARTITION BY l.opd_kode ORDER BY l.requested_at DESC, l.id DESC) AS rn,
           count(*) OVER (PARTITION BY l.opd_kode) AS n_opd
    FROM laporan AS l
    JOIN layanan AS ly ON ly.kode = l.layanan_kode
    WHERE l.status IN (SELECT kode FROM laporan_status_kode WHERE open311 = 'open')
      AND l.requested_at >= (%(dari)s::date)::timestamp AT TIME ZONE 'Asia/Jakarta'
      AND l.requested_at < (%(sampai)s::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta'
) AS x
WHERE rn <= %(per_opd)s
ORDER BY opd_kode, id;
