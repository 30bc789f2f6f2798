-- Metadata catalogue (issue 14): one SNI 8843-1 metadata record per layer version, the source of the CSW
-- 2.0.2 catalogue, the OGC API - Records collection `katalog` and the geoportal pages.
-- `mcf` is the pygeometa MCF document (the one source for ISO 19139 and Records JSON); the other columns are
-- what CSW / Records queries filter and sort on, extracted from it when the row is written.
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
    search         tsvector NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, version)
);
CREATE INDEX layer_metadata_search_idx ON layer_metadata USING gin (search);
CREATE INDEX layer_metadata_bbox_idx ON layer_metadata USING gist (bbox);

-- Download files are cached per layer version in the file system (settings.katalog_cache_dir); nothing here.
