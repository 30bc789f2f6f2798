DROP INDEX IF EXISTS api_key_tracker_idx;
ALTER TABLE IF EXISTS api_key DROP COLUMN IF EXISTS rotated_at;
ALTER TABLE IF EXISTS api_key DROP CONSTRAINT IF EXISTS api_key_device_only_tracker;
ALTER TABLE IF EXISTS api_key DROP COLUMN IF EXISTS device_unique_id;
DROP TABLE IF EXISTS audit_log;
