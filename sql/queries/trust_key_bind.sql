-- Bind a new key to an OPD (opd_officer) or a device (tracker).
UPDATE api_key SET opd_kode = %(opd_kode)s, device_unique_id = %(device)s WHERE id = %(id)s;
