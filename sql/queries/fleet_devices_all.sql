-- The device registry as the ingest caches it: identifier → id, with the last good fix to seed the filters.
SELECT id, unique_id, extract(epoch FROM last_fix_time)::float8 AS last_time, last_lat, last_lon
FROM fleet.device;
