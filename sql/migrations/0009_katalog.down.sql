DROP TABLE IF EXISTS layer_metadata;
