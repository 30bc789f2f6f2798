-- The data stamp in force of one collection (as layers_catalog.sql computes it): a download file is named by it,
-- so a process whose catalog is behind a re-publish elsewhere sees the difference before it serves or builds.
SELECT stamp FROM (
    SELECT d.id, extract(epoch FROM d.loaded_at)::text AS stamp FROM data_layer AS d
    UNION ALL
    SELECT l.id, extract(epoch FROM l.updated_at)::text || '-v' || l.current_version
    FROM layer AS l WHERE l.current_version IS NOT NULL
) AS s
WHERE s.id = %(id)s;
