-- The columns of published layers (the catalog a rule's layer and attribute names are checked against).
SELECT c.table_name AS layer_id, c.column_name, c.data_type
FROM information_schema.columns c
WHERE c.table_schema = 'published' AND c.table_name = ANY(%(layers)s)
ORDER BY c.table_name, c.ordinal_position;
