-- One metadata record (a layer version's); a second write of the same version revises it.
INSERT INTO layer_metadata (collection_id, version, kind, identifier, title, abstract, opd, topic, kugi_code,
                            keywords, bbox, date_creation, date_revision, mcf, anytext)
VALUES (%(collection_id)s, %(version)s, %(kind)s, %(identifier)s, %(title)s, %(abstract)s, %(opd)s, %(topic)s,
        %(kugi)s, %(keywords)s,
        CASE WHEN %(minx)s::float8 IS NULL THEN NULL
             ELSE ST_MakeEnvelope(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s, 4326) END,
        %(created)s::date, %(revised)s::timestamptz, %(mcf)s::jsonb, %(anytext)s)
ON CONFLICT (collection_id, version) DO UPDATE
SET kind = EXCLUDED.kind, identifier = EXCLUDED.identifier, title = EXCLUDED.title, abstract = EXCLUDED.abstract,
    opd = EXCLUDED.opd, topic = EXCLUDED.topic, kugi_code = EXCLUDED.kugi_code, keywords = EXCLUDED.keywords,
    bbox = EXCLUDED.bbox, date_creation = EXCLUDED.date_creation, date_revision = EXCLUDED.date_revision,
    mcf = EXCLUDED.mcf, anytext = EXCLUDED.anytext, updated_at = now()
RETURNING collection_id, version;
