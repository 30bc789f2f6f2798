-- The version stamp of a published layer (the same one the layers catalog uses): a change means re-index.
SELECT extract(epoch FROM updated_at)::text || '-v' || current_version AS stamp
FROM layer
WHERE id = %(id)s AND current_version IS NOT NULL;
