-- Features of one collection for the Layer map; {table} and {pk} come from the layers catalog (quoted
-- identifiers), the row limit is a bound parameter. Geometry simplified to ~1 m, attributes as JSON.
SELECT t.{pk}::text AS id,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(t.geom, 0.00001), 6) AS geometry,
       to_jsonb(t) - 'geom' AS props
FROM {table} AS t
WHERE t.geom IS NOT NULL
ORDER BY t.{pk}
LIMIT %(limit)s;
