-- Per OPD: SLA compliance per stage (met on time / met), overdue now, re-dispatches out and in, IKM with n.
WITH l AS (
    SELECT l.opd_kode, l.disposisi_due, l.disposisi_at, l.tindak_lanjut_due, l.tindak_lanjut_at, l.tutup_due,
           l.tutup_at, k.open311
    FROM laporan l JOIN laporan_status_kode k ON k.kode = l.status
),
per AS (
    SELECT opd_kode,
           count(*) AS laporan,
           count(*) FILTER (WHERE open311 = 'open') AS terbuka,
           count(disposisi_at) AS disposisi_dipenuhi,
           count(*) FILTER (WHERE disposisi_at <= disposisi_due) AS disposisi_tepat,
           count(tindak_lanjut_at) AS tindak_lanjut_dipenuhi,
           count(*) FILTER (WHERE tindak_lanjut_at <= tindak_lanjut_due) AS tindak_lanjut_tepat,
           count(tutup_at) FILTER (WHERE tutup_due IS NOT NULL) AS ditutup,
           count(*) FILTER (WHERE (disposisi_at IS NULL AND disposisi_due < %(now)s)
                               OR (tindak_lanjut_at IS NULL AND tindak_lanjut_due < %(now)s)) AS terlambat
    FROM l GROUP BY opd_kode
),
keluar AS (SELECT dari_opd AS opd_kode, count(*) AS n FROM laporan_disposisi GROUP BY dari_opd),
masuk AS (SELECT ke_opd AS opd_kode, count(*) AS n FROM laporan_disposisi GROUP BY ke_opd),
nilai AS (SELECT opd_kode, count(*) AS n, avg(nilai)::float8 AS rata FROM laporan_penilaian GROUP BY opd_kode)
SELECT o.kode AS opd_kode, o.nama AS opd_nama, coalesce(per.laporan, 0) AS laporan, coalesce(per.terbuka, 0) AS terbuka,
       coalesce(per.disposisi_dipenuhi, 0) AS disposisi_dipenuhi, coalesce(per.disposisi_tepat, 0) AS disposisi_tepat,
       coalesce(per.tindak_lanjut_dipenuhi, 0) AS tindak_lanjut_dipenuhi,
       coalesce(per.tindak_lanjut_tepat, 0) AS tindak_lanjut_tepat, coalesce(per.ditutup, 0) AS ditutup,
       coalesce(per.terlambat, 0) AS terlambat, coalesce(keluar.n, 0) AS disposisi_keluar,
       coalesce(masuk.n, 0) AS disposisi_masuk, coalesce(nilai.n, 0) AS penilaian, nilai.rata AS nilai_rata
FROM opd o
LEFT JOIN per ON per.opd_kode = o.kode
LEFT JOIN keluar ON keluar.opd_kode = o.kode
LEFT JOIN masuk ON masuk.opd_kode = o.kode
LEFT JOIN nilai ON nilai.opd_kode = o.kode
WHERE per.laporan IS NOT NULL OR keluar.n IS NOT NULL OR nilai.n IS NOT NULL
ORDER BY coalesce(per.laporan, 0) DESC, o.kode;
