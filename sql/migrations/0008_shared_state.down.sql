DROP TABLE IF EXISTS ratelimit_bucket;
