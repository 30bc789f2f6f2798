-- One laporan with its routing evidence and status history (for the OPD; still without reporter contact).
SELECT l.id, l.layanan_kode, l.status, l.status_notes, l.opd_kode, o.nama AS opd_nama, l.rule_id, l.rule_versi,
       l.keputusan, l.alasan, l.alasan_teks, l.kelurahan_kode, l.kecamatan_kode, l.kabkota_kode,
       l.kemungkinan_duplikat_dari, l.jarak_duplikat_m, l.requested_at, l.updated_at, l.expected_at,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('status', st.status, 'catatan', st.catatan, 'oleh', st.oleh,
                                                     'pada', st.pada) ORDER BY st.pada, st.id), '[]'::jsonb)
        FROM laporan_status st WHERE st.laporan_id = l.id) AS riwayat_status,
       (SELECT coalesce(jsonb_agg(d.id ORDER BY d.id), '[]'::jsonb) FROM laporan d
        WHERE d.kemungkinan_duplikat_dari = l.id) AS duplikat
FROM laporan l JOIN opd o ON o.kode = l.opd_kode
WHERE l.id = %(id)s;
