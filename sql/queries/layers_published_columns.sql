-- Columns of the live published layers (views published.<id>) among %(layers)s, in table order: the same
-- pg_attribute source and format_type as layers_catalog.sql. A layer with no row is not published.
SELECT c.relname AS layer_id, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS data_type
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = 'published'
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relname = ANY(%(layers)s::text[]) AND c.relkind IN ('r', 'v', 'm')
ORDER BY c.relname, a.attnum;
