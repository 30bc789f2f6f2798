-- The reporter's public comment on their laporan (POST /lacak/{id}/komentar, siklus.komentar_warga) is its own
-- history kind, 'komentar', instead of a 'status' event that changes nothing. Comments written before this
-- revision are found through their audit row (laporan.komentar names the history id it wrote).
ALTER TABLE laporan_status DROP CONSTRAINT laporan_status_jenis_check;
ALTER TABLE laporan_status ADD CONSTRAINT laporan_status_jenis_check
    CHECK (jenis IN ('diterima', 'status', 'disposisi', 'eskalasi', 'tutup_otomatis', 'penilaian', 'komentar'));
UPDATE laporan_status st SET jenis = 'komentar'
FROM audit_log a
WHERE a.aksi = 'laporan.komentar' AND a.objek = 'laporan:' || st.laporan_id
  AND a.sesudah ->> 'riwayat_id' = st.id::text AND st.jenis = 'status';
