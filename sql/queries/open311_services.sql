-- The active categories as Open311 services; sla_hari_kerja (the target in working days) is an extension field
-- spec clients ignore.
SELECT kode AS service_code, nama AS service_name, deskripsi AS description,
       jsonb_array_length(atribut) > 0 AS metadata, 'realtime' AS type, kata_kunci AS keywords, grup AS "group",
       sla_hari_kerja
FROM layanan WHERE aktif ORDER BY grup, kode;
