-- Choices for the map's filter form: categories and OPDs (active ones, and any that hold laporan).
SELECT 'layanan' AS jenis, kode, nama FROM layanan WHERE aktif
UNION ALL
SELECT 'opd', kode, nama FROM opd WHERE aktif OR EXISTS (SELECT 1 FROM laporan AS l WHERE l.opd_kode = opd.kode)
ORDER BY 1, 3;
