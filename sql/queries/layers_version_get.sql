-- One version of a layer.
SELECT layer_id, version, table_name, feature_count, source_file, published_by, report, created_at
FROM layer_version WHERE layer_id = %(id)s AND version = %(version)s;
