-- The registry of published layers with their versions (newest first).
SELECT l.id, l.title, l.description, l.opd, l.licence, l.attribution, l.geometry_type, l.current_version,
       l.created_at, l.updated_at,
       coalesce((SELECT json_agg(json_build_object('version', v.version, 'feature_count', v.feature_count,
                                                   'source_file', v.source_file, 'published_by', v.published_by,
                                                   'created_at', v.created_at) ORDER BY v.version DESC)
                   FROM layer_version AS v WHERE v.layer_id = l.id), '[]') AS versions
FROM layer AS l
WHERE %(id)s::text IS NULL OR l.id = %(id)s
ORDER BY l.id;
