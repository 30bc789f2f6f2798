-- The OPD an API key acts for (opd_officer keys: one OPD, or every OPD when semua_opd was chosen explicitly;
-- bound to neither: none), and the OPD a laporan is routed to.
SELECT (SELECT opd_kode FROM api_key WHERE id = %(key_id)s) AS key_opd,
       (SELECT semua_opd FROM api_key WHERE id = %(key_id)s) AS key_semua_opd,
       (SELECT opd_kode FROM laporan WHERE id = %(laporan_id)s) AS laporan_opd;
