-- Every laporan status with its name in Bahasa Indonesia and its Open311 kind (popups, legends, filter).
SELECT kode, nama, open311 FROM laporan_status_kode ORDER BY urutan;
