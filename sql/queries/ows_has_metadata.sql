-- Whether the metadata catalogue's table (issue 14) exists in this database.
SELECT to_regclass('public.layer_metadata') IS NOT NULL AS present;
