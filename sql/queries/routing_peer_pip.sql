-- Benchmark peer: one plain gist-indexed point-in-polygon query (which kelurahan holds the point).
SELECT kode, kec_kode FROM kelurahan WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
LIMIT 1;
