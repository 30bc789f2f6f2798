-- Write a laporan's lifecycle state: status, holder, routing fields a re-dispatch changes, and the whole clock.
UPDATE laporan SET status = %(status)s, status_notes = %(status_notes)s, opd_kode = %(opd_kode)s,
    keputusan = %(keputusan)s, rule_id = %(rule_id)s, rule_versi = %(rule_versi)s, alasan = %(alasan)s,
    alasan_teks = %(alasan_teks)s, jumlah_disposisi = %(jumlah_disposisi)s,
    tahap_mulai = %(tahap_mulai)s, disposisi_due = %(disposisi_due)s, disposisi_at = %(disposisi_at)s,
    disposisi_eskalasi_at = %(disposisi_eskalasi_at)s, tindak_lanjut_due = %(tindak_lanjut_due)s,
    tindak_lanjut_at = %(tindak_lanjut_at)s, tindak_lanjut_eskalasi_at = %(tindak_lanjut_eskalasi_at)s,
    tutup_due = %(tutup_due)s, tutup_at = %(tutup_at)s, expected_at = %(expected_at)s, updated_at = %(pada)s
WHERE id = %(id)s
RETURNING id;
