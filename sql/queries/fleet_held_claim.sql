-- Move a newly registered device's held fixes into its positions; only coordinate checks apply to them.
WITH moved AS (
    DELETE FROM fleet.held_position WHERE unique_id = %(unique_id)s RETURNING *
)
INSERT INTO fleet.position (device_id, fix_time, received_at, lat, lon, speed_kn, course, altitude, accuracy, hdop,
                            batt, flag, attributes)
SELECT %(device_id)s, fix_time, received_at, lat, lon, speed_kn, course, altitude, accuracy, hdop, batt,
       CASE WHEN lat = 'NaN' OR lon = 'NaN' OR abs(lat) > 90 OR abs(lon) > 180 THEN 'invalid_coords'
            WHEN lat = 0 AND lon = 0 THEN 'zero_coords'
            WHEN fix_time > received_at + interval '5 minutes' THEN 'future' END,
       attributes
FROM moved;
