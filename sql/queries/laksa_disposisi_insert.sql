-- A re-dispatch with its reason and the routing decision it overrode.
INSERT INTO laporan_disposisi (laporan_id, riwayat_id, dari_opd, ke_opd, alasan, keputusan_lama, rule_id, rule_versi,
                               oleh, pada)
VALUES (%(laporan_id)s, %(riwayat_id)s, %(dari_opd)s, %(ke_opd)s, %(alasan)s, %(keputusan_lama)s, %(rule_id)s,
        %(rule_versi)s, %(oleh)s, %(pada)s)
RETURNING id;
