-- Every collection: bundled layers (table public.<id>, listed in data_layer; a table without a geometry
-- column, such as crosswalk_bps, has a NULL geometry_type) and the live published layers (view published.<id>). Columns come from the catalog, in table order.
WITH src AS (
    SELECT d.id, d.title, '' AS description, d.attribution, d.licence, 'bundled' AS kind,
           'public' AS schema_name, d.id AS rel_name, NULL::text AS opd,
           d.loaded_at AS updated_at, extract(epoch FROM d.loaded_at)::text AS stamp
    FROM data_layer AS d
    UNION ALL
    SELECT l.id, l.title, l.description, l.attribution, l.licence, 'published', 'published', l.id, l.opd,
           l.updated_at, extract(epoch FROM l.updated_at)::text || '-v' || l.current_version
    FROM layer AS l
    WHERE l.current_version IS NOT NULL
)
SELECT s.*,
       gc.type AS geometry_type,
       (SELECT a.attname FROM pg_index AS i
          JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1) AS pk,
       (SELECT json_agg(json_build_object('name', a.attname,
                                          'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
          FROM pg_attribute AS a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
FROM src AS s
JOIN pg_namespace AS n ON n.nspname = s.schema_name
JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = s.rel_name AND c.relkind IN ('r', 'v', 'm')
LEFT JOIN geometry_columns AS gc
  ON gc.f_table_schema = s.schema_name AND gc.f_table_name = s.rel_name AND gc.f_geometry_column = 'geom'
ORDER BY s.kind, s.id;
