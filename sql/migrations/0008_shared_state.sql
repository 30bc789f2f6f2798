-- State shared by every process of a deployment (issue 13): the write rate limits' token buckets.
-- UNLOGGED: no WAL per write (a bucket is touched on every limited request); a clean restart keeps the
-- buckets, a crash of PostgreSQL empties them (every client starts with a full burst again), and a
-- streaming replica does not carry them (they are only read and written on the primary).
CREATE UNLOGGED TABLE ratelimit_bucket (
    name   text PRIMARY KEY,            -- "key:<sha256 prefix>" or "address:<ip>"
    tokens double precision NOT NULL,   -- tokens left at `at`
    at     timestamptz NOT NULL,        -- the server clock (one clock for every machine)
    ok     boolean NOT NULL DEFAULT true -- whether the last take was allowed
);
COMMENT ON TABLE ratelimit_bucket IS 'Write rate limits shared by every API process (geo_api/ratelimit.py).';
