-- A change notice to every process (geo_api/notify.py): delivered when the current transaction commits.
SELECT pg_notify(%(channel)s, %(payload)s);
