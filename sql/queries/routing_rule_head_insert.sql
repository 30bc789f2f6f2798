-- A new rule head (its first version is inserted in the same transaction; the FK is deferred).
INSERT INTO routing_rule (kunci, versi) VALUES (%(kunci)s, 1) RETURNING id;
