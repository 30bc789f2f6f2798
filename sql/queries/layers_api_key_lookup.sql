-- The live (not revoked) key with this hash, with what it is bound to.
SELECT id, name, role, opd_kode, semua_opd, device_unique_id FROM api_key
WHERE key_hash = %(key_hash)s AND revoked_at IS NULL;
