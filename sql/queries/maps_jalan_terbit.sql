-- The published street layer (by id), if it has a live version: the maps then offer it as an overlay.
SELECT id, title, attribution FROM layer WHERE id = %(id)s AND current_version IS NOT NULL;
