-- Which fixes of a group commit are already stored as good fixes (same device, fix time and coordinates),
-- whichever process stored them: the duplicate test. Values come in the same text form COPY wrote them,
-- so equality is exact. Uses position_device_time_idx; the batch's own time span (tmin..tmax, known when the
-- statement is planned) prunes the day partitions, which a join on the array's times alone cannot.
SELECT u.k
FROM unnest(%(ks)s::text::int[], %(ids)s::text::int[], %(times)s::text::timestamptz[],
            %(lats)s::text::float8[], %(lons)s::text::float8[]) AS u(k, id, t, lat, lon)
WHERE EXISTS (SELECT 1 FROM fleet.position p
              WHERE p.fix_time BETWEEN %(tmin)s::timestamptz AND %(tmax)s::timestamptz
                AND p.device_id = u.id AND p.fix_time = u.t AND p.lat = u.lat AND p.lon = u.lon
                AND p.flag IS NULL);
