-- After a back-fill or a claim of held fixes: the devices' newest good fix, when newer than the one known.
UPDATE fleet.device AS d
SET last_fix_time = p.fix_time, last_lat = p.lat, last_lon = p.lon, last_speed_kn = p.speed_kn,
    last_course = p.course, last_received = coalesce(d.last_received, p.received_at)
FROM (
    SELECT DISTINCT ON (device_id) device_id, fix_time, lat, lon, speed_kn, course, received_at
    FROM fleet.position
    WHERE device_id = ANY(%(ids)s::int[]) AND flag IS NULL
    ORDER BY device_id, fix_time DESC
) AS p
WHERE d.id = p.device_id AND (d.last_fix_time IS NULL OR p.fix_time > d.last_fix_time);
