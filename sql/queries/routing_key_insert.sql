-- A new API key acting for one OPD (hash only; the key is shown once).
INSERT INTO api_key (name, role, key_hash, opd_kode) VALUES (%(name)s, %(role)s, %(key_hash)s, %(opd_kode)s)
RETURNING id, name, role, opd_kode;
