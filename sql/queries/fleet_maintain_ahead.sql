-- Create the daily position partitions from yesterday to `ahead` days from now (UTC days).
SELECT count(*) FILTER (WHERE fleet.ensure_partition((now() AT TIME ZONE 'UTC')::date + d)) AS n
FROM generate_series(-1, %(ahead)s) AS d;
