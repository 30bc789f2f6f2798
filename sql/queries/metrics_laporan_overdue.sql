-- Open laporan past the due time of the stage they are in (disposisi, tindak lanjut, tutup), for GET /metrics.
SELECT count(*)::bigint AS n
FROM laporan l JOIN laporan_status_kode k ON k.kode = l.status
WHERE k.open311 = 'open'
  AND ((l.disposisi_at IS NULL AND l.disposisi_due < now())
       OR (l.tindak_lanjut_at IS NULL AND l.tindak_lanjut_due < now())
       OR (l.tutup_at IS NULL AND l.tutup_due < now()))
