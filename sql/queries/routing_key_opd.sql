-- The OPD an API key acts for (opd_officer keys), and the OPD a laporan is routed to.
SELECT (SELECT opd_kode FROM api_key WHERE id = %(key_id)s) AS key_opd,
       (SELECT opd_kode FROM laporan WHERE id = %(laporan_id)s) AS laporan_opd;
