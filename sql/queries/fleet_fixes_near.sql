-- Good fixes of the given devices in [lo, hi) inside a lat/lon box (around one site), by device and fix time.
SELECT p.device_id, extract(epoch FROM p.fix_time)::float8 AS t, p.lat, p.lon
FROM fleet.position p
WHERE p.device_id = ANY(%(device_ids)s::int[]) AND p.flag IS NULL
  AND p.fix_time >= %(lo)s AND p.fix_time < %(hi)s
  AND p.lat BETWEEN %(min_lat)s AND %(max_lat)s AND p.lon BETWEEN %(min_lon)s AND %(max_lon)s
ORDER BY p.device_id, p.fix_time;
