-- The record in force for one collection (none when unknown or unpublished).
SELECT collection_id, version, kind, identifier, mcf, updated_at FROM katalog_current
WHERE collection_id = %(id)s OR identifier = %(id)s;
