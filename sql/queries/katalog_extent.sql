-- The extent of every record in force.
SELECT ST_XMin(e) AS minx, ST_YMin(e) AS miny, ST_XMax(e) AS maxx, ST_YMax(e) AS maxy
FROM (SELECT ST_Extent(bbox)::box2d AS e FROM katalog_current) AS x;
