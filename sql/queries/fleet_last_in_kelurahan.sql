-- The newest good fix inside one kelurahan in [lo, hi): which truck passed last, and when.
SELECT v.id AS vehicle_id, v.plat_nomor, p.fix_time, p.lat, p.lon
FROM kelurahan k
JOIN fleet.position p ON p.flag IS NULL AND p.fix_time >= %(lo)s AND p.fix_time < %(hi)s
     AND p.lon BETWEEN ST_XMin(k.geom) AND ST_XMax(k.geom) AND p.lat BETWEEN ST_YMin(k.geom) AND ST_YMax(k.geom)
     AND ST_Intersects(k.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
JOIN fleet.device d ON d.id = p.device_id
JOIN fleet.vehicle v ON v.id = d.vehicle_id
WHERE k.kode = %(kode)s
ORDER BY p.fix_time DESC
LIMIT 1;
