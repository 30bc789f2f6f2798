-- Take one token from a shared bucket, atomically (the bucket's row lock orders concurrent takes): `ok`
-- whether it was allowed, `tokens` what is left. Buckets refill at %(rate)s tokens/s up to %(burst)s, judged
-- on the server's clock so every machine agrees (statement_timestamp: one instant for the whole statement;
-- a take that waited for the lock never moves the bucket's time backwards).
INSERT INTO ratelimit_bucket AS b (name, tokens, at, ok)
VALUES (%(name)s, %(burst)s::float8 - 1, statement_timestamp(), true)
ON CONFLICT (name) DO UPDATE
SET tokens = least(%(burst)s::float8, b.tokens + greatest(0, extract(epoch FROM statement_timestamp() - b.at))::float8
                                                 * %(rate)s::float8)
             - CASE WHEN least(%(burst)s::float8, b.tokens + greatest(0, extract(epoch FROM statement_timestamp() - b.at))::float8
                                                           * %(rate)s::float8) >= 1 THEN 1 ELSE 0 END,
    ok = least(%(burst)s::float8, b.tokens + greatest(0, extract(epoch FROM statement_timestamp() - b.at))::float8
                                             * %(rate)s::float8) >= 1,
    at = greatest(b.at, statement_timestamp())
RETURNING b.tokens, b.ok;
