-- Revoke a key by name.
UPDATE api_key SET revoked_at = now() WHERE name = %(name)s AND revoked_at IS NULL RETURNING id;
