-- Bind a key to an OPD or to every OPD (opd_officer), or to a device (tracker).
UPDATE api_key SET opd_kode = %(opd_kode)s, device_unique_id = %(device)s, semua_opd = %(semua_opd)s
WHERE id = %(id)s
RETURNING id, name, role, opd_kode, semua_opd, device_unique_id;
