-- Bundled layers whose record is missing or older than their last load, with what the record needs.
SELECT d.id, d.title, d.source_file, d.sha256, d.feature_count, d.source, d.licence, d.attribution, d.loaded_at,
       gc.type AS geometry_type
FROM data_layer AS d
LEFT JOIN layer_metadata AS m ON m.collection_id = d.id AND m.version = 0
LEFT JOIN geometry_columns AS gc
  ON gc.f_table_schema = 'public' AND gc.f_table_name = d.id AND gc.f_geometry_column = 'geom'
WHERE m.collection_id IS NULL OR m.updated_at < d.loaded_at
ORDER BY d.id;
