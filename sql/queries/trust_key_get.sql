-- A key's public description (never the hash).
SELECT id, name, role, opd_kode, semua_opd, device_unique_id, created_at, revoked_at, rotated_at
FROM api_key WHERE name = %(name)s;
