-- All keys (never the hashes), with what they are bound to.
SELECT id, name, role, opd_kode, semua_opd, device_unique_id, created_at, revoked_at FROM api_key ORDER BY id;
