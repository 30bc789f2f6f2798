-- Store a new API key (its hash only) with what it is bound to: an officer's OPD or every OPD, a tracker's device.
INSERT INTO api_key (name, role, key_hash, opd_kode, device_unique_id, semua_opd)
VALUES (%(name)s, %(role)s, %(key_hash)s, %(opd_kode)s, %(device)s, %(semua_opd)s)
RETURNING id, name, role, opd_kode, semua_opd, device_unique_id, created_at;
