-- One laporan with its routing evidence, clock and full history (for the OPD: internal notes and actors included,
-- still without reporter contact), its re-dispatches and duplicates.
SELECT l.id, l.layanan_kode, l.status, k.open311 AS status_open311, l.status_notes, l.opd_kode, o.nama AS opd_nama,
       l.rule_id, l.rule_versi, l.keputusan, l.alasan, l.alasan_teks, l.kelurahan_kode, l.kecamatan_kode,
       l.kabkota_kode, l.kemungkinan_duplikat_dari, l.jarak_duplikat_m, l.requested_at, l.updated_at, l.expected_at,
       l.tahap_mulai, l.disposisi_due, l.disposisi_at, l.disposisi_eskalasi_at, l.tindak_lanjut_due,
       l.tindak_lanjut_at, l.tindak_lanjut_eskalasi_at, l.tutup_due, l.tutup_at, l.jumlah_disposisi,
       array_remove(ARRAY[CASE WHEN l.disposisi_at IS NULL AND l.disposisi_due < now() THEN 'disposisi' END,
                          CASE WHEN l.tindak_lanjut_at IS NULL AND l.tindak_lanjut_due < now() THEN 'tindak_lanjut' END],
                    NULL) AS terlambat,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('id', st.id, 'status', st.status, 'jenis', st.jenis,
                                                     'catatan', st.catatan, 'catatan_internal', st.catatan_internal,
                                                     'oleh', st.oleh, 'opd_kode', st.opd_kode, 'media', st.media,
                                                     'pada', st.pada) ORDER BY st.pada, st.id), '[]'::jsonb)
        FROM laporan_status st WHERE st.laporan_id = l.id) AS riwayat_status,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('dari_opd', d.dari_opd, 'ke_opd', d.ke_opd, 'alasan', d.alasan,
                                                     'keputusan_lama', d.keputusan_lama, 'oleh', d.oleh,
                                                     'pada', d.pada) ORDER BY d.pada, d.id), '[]'::jsonb)
        FROM laporan_disposisi d WHERE d.laporan_id = l.id) AS disposisi,
       (SELECT coalesce(jsonb_agg(d.id ORDER BY d.id), '[]'::jsonb) FROM laporan d
        WHERE d.kemungkinan_duplikat_dari = l.id) AS duplikat
FROM laporan l JOIN opd o ON o.kode = l.opd_kode JOIN laporan_status_kode k ON k.kode = l.status
WHERE l.id = %(id)s;
