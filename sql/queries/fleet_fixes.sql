-- A vehicle's good fixes in [lo, hi), by fix time (late fixes sit where they belong).
SELECT extract(epoch FROM p.fix_time)::float8 AS t, p.lat, p.lon
FROM fleet.position p
WHERE p.device_id = ANY(%(device_ids)s::int[]) AND p.flag IS NULL
  AND p.fix_time >= %(lo)s AND p.fix_time < %(hi)s
ORDER BY p.fix_time;
