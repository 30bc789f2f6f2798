-- The reporter's rating, once per laporan (nothing is returned when one exists).
INSERT INTO laporan_penilaian (laporan_id, nilai, komentar, opd_kode, buka_kembali, pada)
VALUES (%(laporan_id)s, %(nilai)s, %(komentar)s, %(opd_kode)s, %(buka_kembali)s, %(pada)s)
ON CONFLICT (laporan_id) DO NOTHING
RETURNING laporan_id;
