-- Record (or replace) a bundled layer's source, checksum, row count and attribution.
INSERT INTO data_layer (id, title, source_file, sha256, feature_count, source, licence, attribution, loaded_at)
VALUES (%(id)s, %(title)s, %(source_file)s, %(sha256)s, %(feature_count)s, %(source)s, %(licence)s,
        %(attribution)s, now())
ON CONFLICT (id) DO UPDATE SET
    title = EXCLUDED.title, source_file = EXCLUDED.source_file, sha256 = EXCLUDED.sha256,
    feature_count = EXCLUDED.feature_count, source = EXCLUDED.source, licence = EXCLUDED.licence,
    attribution = EXCLUDED.attribution, loaded_at = now();
