-- Replace a live key's hash (the old key stops working at once); name, role and bindings stay.
UPDATE api_key SET key_hash = %(key_hash)s, rotated_at = now()
WHERE name = %(name)s AND revoked_at IS NULL
RETURNING id, name, role, opd_kode, semua_opd, device_unique_id, rotated_at;
