-- All keys (never the hashes).
SELECT id, name, role, created_at, revoked_at FROM api_key ORDER BY id;
