-- One audit row, in the caller's transaction.
INSERT INTO audit_log (oleh, api_key_id, alamat, aksi, objek, sebelum, sesudah)
VALUES (%(oleh)s, %(api_key_id)s, %(alamat)s, %(aksi)s, %(objek)s, %(sebelum)s, %(sesudah)s)
RETURNING id;
