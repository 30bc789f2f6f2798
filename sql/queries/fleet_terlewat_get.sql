-- The missed pickups stored for a (sites layer, day, window end), if some process computed them.
SELECT features, computed_at FROM fleet_terlewat
 WHERE sites_layer = %(layer)s AND tanggal = %(tanggal)s AND window_end = %(window_end)s
