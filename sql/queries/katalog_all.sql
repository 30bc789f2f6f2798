-- Every record in force, for `satupeta katalog validate` and the portal's filters.
SELECT collection_id, version, kind, identifier, title, opd, topic, kugi_code, mcf, updated_at
FROM katalog_current ORDER BY kind, collection_id;
