-- The kecamatan codes (to validate the laporan map's kecamatan filter against).
SELECT kode FROM kecamatan ORDER BY kode;
