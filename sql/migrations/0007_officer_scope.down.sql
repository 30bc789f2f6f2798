ALTER TABLE IF EXISTS api_key DROP CONSTRAINT IF EXISTS api_key_semua_opd_only_unbound_officer;
ALTER TABLE IF EXISTS api_key DROP COLUMN IF EXISTS semua_opd;
