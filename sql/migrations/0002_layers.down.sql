DROP TABLE IF EXISTS layer_version, layer;
DROP SCHEMA IF EXISTS published CASCADE;
