-- The city's own active OPDs (dinas, badan, satuan) the demo's SYNTHETIC re-dispatches may send a laporan to.
SELECT kode FROM opd WHERE aktif AND NOT luar_kota AND jenis IN ('dinas', 'badan', 'satuan') ORDER BY kode;
