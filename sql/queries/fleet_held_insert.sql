-- A fix from a device not yet registered, held until `satupeta fleet device add` claims it.
INSERT INTO fleet.held_position (unique_id, fix_time, lat, lon, speed_kn, course, altitude, accuracy, hdop, batt,
                                 attributes)
VALUES (%(unique_id)s, to_timestamp(%(fix_time)s), %(lat)s, %(lon)s, %(speed_kn)s, %(course)s, %(altitude)s,
        %(accuracy)s, %(hdop)s, %(batt)s, %(attributes)s);
