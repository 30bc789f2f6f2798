-- On a streaming replica: is it in recovery, how far it has replayed, and when it last replayed a commit.
SELECT pg_is_in_recovery() AS in_recovery,
       pg_last_wal_replay_lsn()::text AS replay_lsn,
       EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS since_replay_s;
