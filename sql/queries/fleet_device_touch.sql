-- After a group commit's COPY: remember each device's newest good fix (by fix time) and when it last
-- reported. Rows are sorted by id by the caller so concurrent writers lock devices in one order.
UPDATE fleet.device AS d
SET last_received = v.received,
    last_fix_time = CASE WHEN v.fix_time IS NOT NULL AND (d.last_fix_time IS NULL OR v.fix_time >= d.last_fix_time)
                         THEN v.fix_time ELSE d.last_fix_time END,
    last_lat = CASE WHEN v.fix_time IS NOT NULL AND (d.last_fix_time IS NULL OR v.fix_time >= d.last_fix_time)
                    THEN v.lat ELSE d.last_lat END,
    last_lon = CASE WHEN v.fix_time IS NOT NULL AND (d.last_fix_time IS NULL OR v.fix_time >= d.last_fix_time)
                    THEN v.lon ELSE d.last_lon END,
    last_speed_kn = CASE WHEN v.fix_time IS NOT NULL AND (d.last_fix_time IS NULL OR v.fix_time >= d.last_fix_time)
                         THEN v.speed_kn ELSE d.last_speed_kn END,
    last_course = CASE WHEN v.fix_time IS NOT NULL AND (d.last_fix_time IS NULL OR v.fix_time >= d.last_fix_time)
                       THEN v.course ELSE d.last_course END
FROM (SELECT u.id, to_timestamp(%(received)s::float8) AS received, to_timestamp(u.t) AS fix_time, u.lat, u.lon,
             u.speed_kn, u.course
      FROM unnest(%(ids)s::text::int[], %(fix_times)s::text::float8[], %(lats)s::text::float8[],
                  %(lons)s::text::float8[], %(speeds)s::text::real[], %(courses)s::text::real[])
           AS u(id, t, lat, lon, speed_kn, course)) AS v
WHERE d.id = v.id;
