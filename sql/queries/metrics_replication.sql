-- On the primary: each streaming standby's replay lag, for GET /metrics (none: no rows).
SELECT coalesce(nullif(application_name, ''), client_addr::text, 'standby') AS standby,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag_bytes,
       coalesce(EXTRACT(epoch FROM replay_lag), 0)::float8 AS lag_s
FROM pg_stat_replication
