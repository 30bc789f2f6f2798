-- Kecamatan of the city with their extents: the portal's "Tempat" filter.
SELECT nama, ST_XMin(e) AS minx, ST_YMin(e) AS miny, ST_XMax(e) AS maxx, ST_YMax(e) AS maxy
FROM (SELECT nama, ST_Extent(geom)::box2d AS e FROM kecamatan GROUP BY nama) AS x ORDER BY nama;
