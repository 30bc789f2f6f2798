SELECT kode, nama, kec_nama FROM kelurahan
WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
LIMIT 1;
