SELECT d.id, d.unique_id, v.plat_nomor, d.last_fix_time, d.last_received
FROM fleet.device d LEFT JOIN fleet.vehicle v ON v.id = d.vehicle_id ORDER BY d.id;
