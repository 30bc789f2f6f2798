-- Live fleet: each vehicle's newest good fix over its devices, with its age in seconds, and the newest alarm
-- (Traccar's `alarm` attribute, e.g. Traccar Client's "sos") its device sent in the last hour.
SELECT DISTINCT ON (v.id)
       v.id AS vehicle_id, v.plat_nomor, v.jenis, v.kecamatan_kode, d.unique_id AS device,
       d.last_fix_time, d.last_received, d.last_lat AS lat, d.last_lon AS lon,
       d.last_speed_kn * 1.852 AS speed_kmh, d.last_course AS course,
       extract(epoch FROM (now() - d.last_fix_time))::float8 AS age_s,
       a.alarm, a.alarm_time
FROM fleet.vehicle v
JOIN fleet.device d ON d.vehicle_id = v.id
LEFT JOIN LATERAL (
    SELECT p.attributes->>'alarm' AS alarm, p.fix_time AS alarm_time
    FROM fleet.position p
    WHERE p.device_id = d.id AND p.fix_time > now() - interval '1 hour' AND p.fix_time <= now() + interval '1 hour'
      AND p.attributes->>'alarm' ~ '^[A-Za-z_]{1,32}$'
    ORDER BY p.fix_time DESC LIMIT 1
) a ON true
WHERE v.aktif AND d.last_fix_time IS NOT NULL
  AND (%(since)s::timestamptz IS NULL OR d.last_received > %(since)s::timestamptz)
ORDER BY v.id, d.last_fix_time DESC;
