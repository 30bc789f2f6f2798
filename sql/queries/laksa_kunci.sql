-- A laporan's state and clock, locked for a lifecycle change (status, disposisi, rating, the periodic job).
SELECT l.id, l.status, l.status_notes, l.opd_kode, l.keputusan, l.rule_id, l.rule_versi, l.alasan, l.alasan_teks,
       l.jumlah_disposisi, l.kode_lacak_hash, l.tahap_mulai, l.disposisi_due, l.disposisi_at, l.disposisi_eskalasi_at,
       l.tindak_lanjut_due, l.tindak_lanjut_at, l.tindak_lanjut_eskalasi_at, l.tutup_due, l.tutup_at, l.expected_at,
       s.sla_hari_kerja, k.open311
FROM laporan l
JOIN layanan s ON s.kode = l.layanan_kode
JOIN laporan_status_kode k ON k.kode = l.status
WHERE l.id = %(id)s
FOR UPDATE OF l;
