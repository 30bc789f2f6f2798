-- Whether the category and the OPD a rule names exist.
SELECT (%(layanan_kode)s::text IS NULL OR EXISTS (SELECT 1 FROM layanan WHERE kode = %(layanan_kode)s)) AS layanan_ada,
       (%(opd_kode)s::text IS NULL OR EXISTS (SELECT 1 FROM opd WHERE kode = %(opd_kode)s AND aktif)) AS opd_ada;
