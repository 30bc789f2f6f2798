-- Store the missed pickups of a (sites layer, day, window end); days older than a week are dropped first.
WITH old AS (DELETE FROM fleet_terlewat WHERE tanggal < %(tanggal)s::date - 7)
INSERT INTO fleet_terlewat (sites_layer, tanggal, window_end, features)
VALUES (%(layer)s, %(tanggal)s, %(window_end)s, %(features)s)
ON CONFLICT (sites_layer, tanggal, window_end) DO NOTHING
