-- The city's population (Kepmendagri, via kabkota_sekitar): the only population figure the bundled data has;
-- there is none per kelurahan (see SOURCES.md), so "per 1,000 residents" is given for the city as a whole.
SELECT penduduk_total FROM kabkota_sekitar WHERE kode = '36.71';
