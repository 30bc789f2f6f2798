SELECT id, extract(epoch FROM last_fix_time)::float8 AS last_time, last_lat, last_lon
FROM fleet.device WHERE unique_id = %(unique_id)s;
