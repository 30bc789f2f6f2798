-- Point a layer at a version (NULL: unpublished); updated_at moves so caches and ETags change.
UPDATE layer SET current_version = %(version)s, geometry_type = coalesce(%(geometry_type)s, geometry_type),
       updated_at = clock_timestamp()
WHERE id = %(id)s
RETURNING id, current_version;
