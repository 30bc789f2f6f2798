SELECT v.id, v.plat_nomor, v.jenis, v.kecamatan_kode, v.depot, v.aktif,
       coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS device_ids,
       coalesce(array_agg(d.unique_id ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS devices
FROM fleet.vehicle v LEFT JOIN fleet.device d ON d.vehicle_id = v.id
WHERE v.id = %(id)s
GROUP BY v.id;
