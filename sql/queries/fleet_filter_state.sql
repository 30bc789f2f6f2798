-- The fix filters' state of a group commit's devices, locked for the batch: the newest good fix each device
-- stored (the jump test compares with it). FOR UPDATE in id order: two processes (or two writer tasks)
-- holding fixes of the same device take turns, and the second reads what the first committed.
SELECT id, extract(epoch FROM last_fix_time)::float8 AS last_time, last_lat, last_lon
FROM fleet.device
WHERE id = ANY(%(ids)s::text::int[])
ORDER BY id
FOR UPDATE;
