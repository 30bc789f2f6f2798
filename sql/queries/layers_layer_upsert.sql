-- Create or update a layer's metadata before a new version goes live.
INSERT INTO layer (id, title, description, opd, licence, attribution)
VALUES (%(id)s, %(title)s, %(description)s, %(opd)s, %(licence)s, %(attribution)s)
ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
    opd = excluded.opd, licence = excluded.licence, attribution = excluded.attribution
RETURNING id, current_version;
