DROP VIEW IF EXISTS katalog_current;
DROP TABLE IF EXISTS layer_metadata;
