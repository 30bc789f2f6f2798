-- Register (or re-assign) a device to a vehicle.
INSERT INTO fleet.device (unique_id, vehicle_id) VALUES (%(unique_id)s, %(vehicle_id)s)
ON CONFLICT (unique_id) DO UPDATE SET vehicle_id = EXCLUDED.vehicle_id
RETURNING id;
