-- Move a laporan to a status with a note; the history row and the laporan change together.
WITH up AS (
    UPDATE laporan SET status = %(status)s, status_notes = %(catatan)s, updated_at = clock_timestamp()
    WHERE id = %(id)s
    RETURNING id
)
INSERT INTO laporan_status (laporan_id, status, catatan, oleh)
SELECT id, %(status)s, %(catatan)s, %(oleh)s FROM up
RETURNING laporan_id;
