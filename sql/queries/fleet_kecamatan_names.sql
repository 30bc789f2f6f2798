-- Kecamatan codes and names (to resolve a kecamatan filter given by kode or nama).
SELECT kode, nama FROM kecamatan ORDER BY kode;
