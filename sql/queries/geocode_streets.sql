-- The street gazetteer: every street name of the street layer with each kelurahan it runs through, its length
-- there and a point on the street inside that kelurahan. {layer} and {name} are identifiers checked against the
-- catalog and quoted by the caller; over-long names are skipped, invalid geometries repaired, empty ones dropped.
WITH src AS (
    SELECT btrim({name}::text) AS nama, geom
    FROM {layer}
    WHERE {name} IS NOT NULL AND geom IS NOT NULL AND length({name}::text) <= %(max_chars)s
), valid AS (
    SELECT nama, CASE WHEN ST_IsValid(geom) THEN geom ELSE ST_MakeValid(geom) END AS geom
    FROM src
    WHERE nama <> ''
), pieces AS (
    SELECT v.nama, k.kode, ST_Intersection(v.geom, k.geom) AS g
    FROM valid AS v
    JOIN kelurahan AS k ON ST_Intersects(v.geom, k.geom)
    WHERE NOT ST_IsEmpty(v.geom)
), agg AS (
    SELECT nama, kode, ST_Collect(g) AS g
    FROM pieces
    WHERE NOT ST_IsEmpty(g)
    GROUP BY nama, kode
)
SELECT a.nama, a.kode, ST_Length(a.g::geography) AS panjang_m, ST_Y(p.pt) AS lat, ST_X(p.pt) AS lon
FROM agg AS a
CROSS JOIN LATERAL (SELECT ST_ClosestPoint(a.g, ST_Centroid(a.g)) AS pt) AS p
ORDER BY a.nama, a.kode;
