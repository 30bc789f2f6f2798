-- A device's stored good fixes (optionally within a time span): the back-fill's duplicate test, the same
-- rule as the live writer's fleet_filter_seen.
SELECT extract(epoch FROM fix_time)::float8 AS t, lat, lon
FROM fleet.position
WHERE device_id = %(id)s AND flag IS NULL
  AND (%(t_min)s::float8 IS NULL OR fix_time >= to_timestamp(%(t_min)s::float8) - interval '1 second')
  AND (%(t_max)s::float8 IS NULL OR fix_time <= to_timestamp(%(t_max)s::float8) + interval '1 second');
