-- Columns of a published layer's live view, to read only attributes that exist.
SELECT attname AS name FROM pg_attribute
WHERE attrelid = to_regclass(format('published.%%I', %(layer)s::text)) AND attnum > 0 AND NOT attisdropped;
