-- The city's extent: what every map fits to.
SELECT ST_XMin(e) AS minx, ST_YMin(e) AS miny, ST_XMax(e) AS maxx, ST_YMax(e) AS maxy
FROM (SELECT ST_Extent(geom)::box2d AS e FROM batas_kota) AS x;
