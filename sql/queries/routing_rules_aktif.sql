-- The rules in force (current version of each active rule), highest priority first.
SELECT rule_id, versi, kunci, nama, layanan_kode, wilayah, wilayah_kode, layer_id, atribut_filter, jarak_m,
       opd_kode, ke_kantor, prioritas, alasan
FROM routing_rule_aktif
ORDER BY prioritas DESC, rule_id;
