-- The live (not revoked) key with this hash.
SELECT id, name, role FROM api_key WHERE key_hash = %(key_hash)s AND revoked_at IS NULL;
