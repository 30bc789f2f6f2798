-- On the primary: the WAL position written so far (a replica that replayed up to it has no lag).
SELECT pg_current_wal_lsn()::text AS lsn;
