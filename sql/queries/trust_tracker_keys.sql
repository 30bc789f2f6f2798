-- Live tracker keys and the device each may send positions for.
SELECT device_unique_id, key_hash FROM api_key
WHERE role = 'tracker' AND revoked_at IS NULL AND device_unique_id IS NOT NULL;
