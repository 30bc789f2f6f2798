-- Kecamatan polygons (driving events: a truck out of its assigned kecamatan).
SELECT kode, nama, ST_AsBinary(geom) AS wkb FROM kecamatan ORDER BY kode;
