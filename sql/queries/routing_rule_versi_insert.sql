-- One immutable version of a rule.
INSERT INTO routing_rule_versi (rule_id, versi, nama, layanan_kode, wilayah, wilayah_kode, layer_id, atribut_filter,
                                jarak_m, opd_kode, ke_kantor, prioritas, aktif, alasan, diubah_oleh, diubah_pada)
VALUES (%(rule_id)s, %(versi)s, %(nama)s, %(layanan_kode)s, %(wilayah)s, %(wilayah_kode)s, %(layer_id)s,
        %(atribut_filter)s, %(jarak_m)s, %(opd_kode)s, %(ke_kantor)s, %(prioritas)s, %(aktif)s, %(alasan)s,
        %(diubah_oleh)s, clock_timestamp())
RETURNING rule_id, versi;
