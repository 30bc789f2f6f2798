-- What a published layer's record needs from the version just written (inside the publish transaction).
SELECT l.id, l.title, l.description, l.opd, l.licence, l.attribution, l.geometry_type, l.created_at,
       v.feature_count, v.source_file, v.published_by, v.report, v.created_at AS version_at, v.table_name
FROM layer AS l JOIN layer_version AS v ON v.layer_id = l.id
WHERE l.id = %(id)s AND v.version = %(version)s;
