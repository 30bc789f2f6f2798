-- One device's newest stored good fix (the jump test's starting point in a back-fill).
SELECT id, extract(epoch FROM last_fix_time)::float8 AS last_time, last_lat, last_lon FROM fleet.device WHERE id = %(id)s;
