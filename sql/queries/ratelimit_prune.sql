-- Forget shared buckets that have had time to refill completely (burst / rate seconds): they start full anyway.
DELETE FROM ratelimit_bucket
WHERE name LIKE %(prefix)s || '%%' AND at < statement_timestamp() - make_interval(secs => %(full_after_s)s);
