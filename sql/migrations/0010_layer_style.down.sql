DROP TABLE IF EXISTS layer_style;
