-- The default uploaded SLD style of a published layer (the newest of its current version, as at /ows), if any.
SELECT s.name, s.title, s.sld
FROM layer_style AS s
JOIN layer AS l ON l.id = s.layer_id AND s.version = l.current_version
WHERE s.layer_id = %(layer_id)s
ORDER BY s.created_at DESC, s.name DESC
LIMIT 1;
