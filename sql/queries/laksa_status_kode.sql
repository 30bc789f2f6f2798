-- Every status with its Open311 mapping and Bahasa Indonesia name.
SELECT kode, open311, nama, urutan FROM laporan_status_kode ORDER BY urutan;
