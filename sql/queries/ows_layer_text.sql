-- Title, abstract and keywords of each collection from the metadata catalogue (issue 14), for the version
-- in force: a published layer's current version, version 0 for a bundled layer. Only run when the table exists.
SELECT m.collection_id, m.title, m.abstract, m.keywords
FROM layer_metadata AS m
LEFT JOIN layer AS l ON l.id = m.collection_id
WHERE m.version = COALESCE(l.current_version, 0);
