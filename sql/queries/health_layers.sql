-- Loaded layers with their recorded row count, the live row count, and attribution.
SELECT l.id, l.title, l.feature_count, l.source_file, l.licence, l.attribution, l.loaded_at
FROM data_layer AS l
ORDER BY l.id;
