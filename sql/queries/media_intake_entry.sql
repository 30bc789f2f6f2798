-- The intake entry of a laporan: its first history row (where the citizen's photos are kept).
SELECT id FROM laporan_status WHERE laporan_id = %(id)s ORDER BY pada, id LIMIT 1;
