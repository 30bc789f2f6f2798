-- The newest record of a published layer before this version: what a republish keeps and revises.
SELECT mcf, date_creation FROM layer_metadata
WHERE collection_id = %(id)s AND kind = 'published' AND version < %(version)s
ORDER BY version DESC LIMIT 1;
