-- The state of a laporan an officer may change (for the audit's "before"; no reporter contact).
SELECT id, status, status_notes, opd_kode FROM laporan WHERE id = %(id)s;
