-- The newest audit rows, optionally for one object.
SELECT id, pada, oleh, alamat, aksi, objek, sebelum, sesudah FROM audit_log
WHERE %(objek)s::text IS NULL OR objek = %(objek)s
ORDER BY id DESC LIMIT %(limit)s;
