-- Laporan with a stage overdue and not yet escalated, or an auto-close due, at %(now)s (bounded batch; rows that
-- another worker holds are skipped, so two timers never act on one laporan at once).
SELECT l.id FROM laporan l
WHERE (l.disposisi_at IS NULL AND l.disposisi_eskalasi_at IS NULL AND l.disposisi_due < %(now)s)
   OR (l.tindak_lanjut_at IS NULL AND l.tindak_lanjut_eskalasi_at IS NULL AND l.tindak_lanjut_due < %(now)s)
   OR (l.tutup_at IS NULL AND l.tutup_due < %(now)s)
ORDER BY l.id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;
