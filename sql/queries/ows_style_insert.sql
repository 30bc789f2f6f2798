-- An uploaded style for the current version of a live published layer (replacing one of the same name);
-- returns nothing when the layer is not published.
INSERT INTO layer_style (layer_id, version, name, title, sld, created_by)
SELECT l.id, l.current_version, %(name)s, %(title)s, %(sld)s, %(created_by)s
FROM layer AS l
WHERE l.id = %(layer_id)s AND l.current_version IS NOT NULL
ON CONFLICT (layer_id, version, name)
DO UPDATE SET title = EXCLUDED.title, sld = EXCLUDED.sld, created_by = EXCLUDED.created_by, created_at = now()
RETURNING layer_id, version, name;
