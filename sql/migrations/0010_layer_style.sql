-- Styles uploaded with a published layer (SLD 1.0 / SE 1.1, validated before they are stored), one row per
-- layer version and style name: a new version of the layer starts without the old one's style unless it is
-- uploaded again. The WMS at /ows draws the layer with its newest style of the current version.
CREATE TABLE layer_style (
    layer_id    text NOT NULL,
    version     integer NOT NULL,
    name        text NOT NULL CHECK (name ~ '^[A-Za-z][A-Za-z0-9_-]{0,63}$'),
    title       text NOT NULL DEFAULT '',
    sld         text NOT NULL,
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (layer_id, version, name),
    FOREIGN KEY (layer_id, version) REFERENCES layer_version (layer_id, version) ON DELETE CASCADE
);
