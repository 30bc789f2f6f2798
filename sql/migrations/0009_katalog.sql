-- Metadata catalogue (issue 14): one SNI 8843-1 metadata record per layer version, the source of the CSW
-- 2.0.2 catalogue, the OGC API - Records collection `katalog` and the geoportal pages.
-- `mcf` holds the record's facts (katalog.metadata.Facts) and what the publisher gave; the pygeometa MCF, and
-- from it ISO 19139 and Records JSON, is built from them with the node's links. The other columns are what CSW /
-- Records queries filter and sort on, extracted when the row is written.
-- Bundled layers (data_layer) have version 0, revised in place when the data is reloaded; a published layer
-- has one row per layer_version, so a restored version brings its own metadata back.
CREATE TABLE layer_metadata (
    collection_id  text NOT NULL CHECK (collection_id ~ '^[a-z][a-z0-9_]{0,62}$'),
    version        integer NOT NULL CHECK (version >= 0),
    kind           text NOT NULL CHECK (kind IN ('bundled', 'published')),
    identifier     text NOT NULL,  -- the CSW record id: stable across versions of a layer
    title          text NOT NULL,
    abstract       text NOT NULL,
    opd            text NOT NULL,
    topic          text NOT NULL,
    kugi_code      text NOT NULL,
    keywords       text[] NOT NULL DEFAULT '{}',
    bbox           geometry(Polygon, 4326),
    date_creation  date,
    date_revision  timestamptz NOT NULL DEFAULT now(),
    mcf            jsonb NOT NULL,
    anytext        text NOT NULL,  -- every text of the record: CSW AnyText, Records q
    search         tsvector GENERATED ALWAYS AS (to_tsvector('simple', anytext)) STORED,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, version)
);
CREATE INDEX layer_metadata_search_idx ON layer_metadata USING gin (search);
CREATE INDEX layer_metadata_bbox_idx ON layer_metadata USING gist (bbox);

-- The records in force: a bundled layer's while it is loaded, a published layer's live version only (an
-- unpublished layer has none). CSW, Records and the portal read this view.
CREATE VIEW katalog_current AS
SELECT m.*, m.bbox AS geom, m.date_revision AS modified, 'dataset'::text AS type,
       concat_ws(', ', array_to_string(m.keywords, ', '), m.kugi_code, m.topic) AS subject
FROM layer_metadata AS m
LEFT JOIN layer AS l ON m.kind = 'published' AND l.id = m.collection_id
LEFT JOIN data_layer AS d ON m.kind = 'bundled' AND d.id = m.collection_id
WHERE (m.kind = 'published' AND l.current_version = m.version) OR (m.kind = 'bundled' AND d.id IS NOT NULL);

-- Download files are cached per layer version in the file system (settings.katalog_cache_dir); nothing here.
