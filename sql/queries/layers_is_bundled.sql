-- Whether an id is taken by a bundled layer (ids share one collection namespace).
SELECT EXISTS (SELECT 1 FROM data_layer WHERE id = %(id)s) AS taken;
