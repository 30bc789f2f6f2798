-- Uploaded SLD styles of the current version of each live published layer, oldest first (the newest is the
-- layer's default in the WMS at /ows).
SELECT s.layer_id, s.name, s.title, s.sld, s.created_at
FROM layer_style AS s
JOIN layer AS l ON l.id = s.layer_id AND s.version = l.current_version
ORDER BY s.layer_id, s.created_at, s.name;
