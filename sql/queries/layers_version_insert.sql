-- Record a version of a layer (its table already filled).
INSERT INTO layer_version (layer_id, version, table_name, feature_count, source_file, published_by, report)
VALUES (%(id)s, %(version)s, %(table_name)s, %(feature_count)s, %(source_file)s, %(published_by)s,
        %(report)s)
RETURNING layer_id, version;
