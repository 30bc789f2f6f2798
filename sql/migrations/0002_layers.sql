-- Published layers (OPD thematic layers): a registry and versioned tables in schema "published".
-- The live version of layer X is always the view published."X" (columns fid, geom, attributes);
-- publishing or restoring a version re-points that view in one transaction.
CREATE SCHEMA IF NOT EXISTS published;

CREATE TABLE layer (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,47}$'),
    title           text NOT NULL,
    description     text NOT NULL DEFAULT '',
    opd             text NOT NULL,
    licence         text NOT NULL DEFAULT '',
    attribution     text NOT NULL DEFAULT '',
    geometry_type   text,
    current_version integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE layer_version (
    layer_id      text NOT NULL REFERENCES layer (id) ON DELETE CASCADE,
    version       integer NOT NULL,
    table_name    text NOT NULL,
    feature_count integer NOT NULL,
    source_file   text NOT NULL,
    published_by  text NOT NULL DEFAULT '',
    report        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (layer_id, version)
);
