UPDATE laporan_status SET jenis = 'status' WHERE jenis = 'komentar';
ALTER TABLE laporan_status DROP CONSTRAINT laporan_status_jenis_check;
ALTER TABLE laporan_status ADD CONSTRAINT laporan_status_jenis_check
    CHECK (jenis IN ('diterima', 'status', 'disposisi', 'eskalasi', 'tutup_otomatis', 'penilaian'));
