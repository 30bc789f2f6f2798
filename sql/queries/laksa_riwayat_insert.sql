-- One history event of a laporan (its id is the Open311 update_id).
INSERT INTO laporan_status (laporan_id, status, jenis, catatan, catatan_internal, oleh, api_key_id, opd_kode, media,
                            pada)
VALUES (%(laporan_id)s, %(status)s, %(jenis)s, %(catatan)s, %(catatan_internal)s, %(oleh)s, %(api_key_id)s,
        %(opd_kode)s, %(media)s, %(pada)s)
RETURNING id;
