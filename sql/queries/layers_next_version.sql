-- The next version number of a layer (its row is locked by the caller).
SELECT coalesce(max(version), 0) + 1 AS version FROM layer_version WHERE layer_id = %(id)s;
