-- Store a new API key (its hash only).
INSERT INTO api_key (name, role, key_hash) VALUES (%(name)s, %(role)s, %(key_hash)s)
RETURNING id, name, role, created_at;
