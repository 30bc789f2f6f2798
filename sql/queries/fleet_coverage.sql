-- Kelurahan each vehicle passed through in [lo, hi): good fixes thinned to one per device-minute
-- (enough to say "the last truck passed at 07:42"), then point-in-polygon on the kelurahan index.
WITH fixes AS (
    SELECT DISTINCT ON (p.device_id, date_trunc('minute', p.fix_time)) p.device_id, p.fix_time, p.lat, p.lon
    FROM fleet.position p
    WHERE p.flag IS NULL AND p.fix_time >= %(lo)s AND p.fix_time < %(hi)s
    ORDER BY p.device_id, date_trunc('minute', p.fix_time), p.fix_time
)
SELECT v.id AS vehicle_id, v.plat_nomor, k.kode, k.nama, k.kec_nama,
       min(f.fix_time) AS first_seen, max(f.fix_time) AS last_seen, count(*) AS minutes
FROM fixes f
JOIN fleet.device d ON d.id = f.device_id
JOIN fleet.vehicle v ON v.id = d.vehicle_id
JOIN kelurahan k ON ST_Intersects(k.geom, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326))
WHERE (%(vehicle_id)s::int IS NULL OR v.id = %(vehicle_id)s::int)
  AND (%(kode)s::text IS NULL OR k.kode = %(kode)s::text)
GROUP BY v.id, v.plat_nomor, k.kode, k.nama, k.kec_nama
ORDER BY k.kode, max(f.fix_time) DESC;
