-- Every rule at its current version (inactive ones too), highest priority first.
SELECT v.*, r.kunci
FROM routing_rule r JOIN routing_rule_versi v ON v.rule_id = r.id AND v.versi = r.versi
WHERE (%(layanan)s::text IS NULL OR v.layanan_kode = %(layanan)s OR v.layanan_kode IS NULL)
ORDER BY v.aktif DESC, v.prioritas DESC, r.id;
