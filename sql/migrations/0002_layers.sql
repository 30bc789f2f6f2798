-- Published layers (OPD thematic layers): a registry and versioned tables in schema "published".
-- The live version of layer X is always the view published."X" (columns fid, geom, attributes);
-- publishing or restoring a version re-points that view in one transaction. Version tables are
-- published."X__vN"; they stay after a newer version goes live so an earlier one can be restored.
-- Also: API keys (hashed) for roles such as gis_admin; general, reused by other resources (Open311).
CREATE SCHEMA IF NOT EXISTS published;

CREATE TABLE layer (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,47}$'),
    title           text NOT NULL,
    description     text NOT NULL DEFAULT '',
    opd             text NOT NULL,
    licence         text NOT NULL DEFAULT '',
    attribution     text NOT NULL DEFAULT '',
    geometry_type   text,
    -- NULL while unpublished: the layer is then no collection; its versions remain restorable.
    current_version integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE layer_version (
    layer_id      text NOT NULL REFERENCES layer (id) ON DELETE CASCADE,
    version       integer NOT NULL CHECK (version > 0),
    table_name    text NOT NULL UNIQUE,
    feature_count integer NOT NULL,
    source_file   text NOT NULL,
    published_by  text NOT NULL DEFAULT '',
    -- column mapping, repaired and rejected features of this upload
    report        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (layer_id, version)
);

ALTER TABLE layer ADD CONSTRAINT layer_current_version_fk
    FOREIGN KEY (id, current_version) REFERENCES layer_version (layer_id, version)
    DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE api_key (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    role       text NOT NULL CHECK (role ~ '^[a-z][a-z0-9_]{0,39}$'),
    -- sha256 hex of the key; the key itself is shown once at creation and never stored
    key_hash   text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
