-- The active categories as Open311 services.
SELECT kode AS service_code, nama AS service_name, deskripsi AS description,
       jsonb_array_length(atribut) > 0 AS metadata, 'realtime' AS type, kata_kunci AS keywords, grup AS "group"
FROM layanan WHERE aktif ORDER BY grup, kode;
