SELECT DISTINCT (fix_time AT TIME ZONE 'UTC')::date AS day FROM fleet.held_position
WHERE unique_id = %(unique_id)s AND fix_time > now() - make_interval(days => %(keep_days)s)
  AND fix_time < now() + interval '2 days';
