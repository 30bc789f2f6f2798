-- Named OSM POIs in the city and its 3 km ring, with the desa/kelurahan each lies in.
SELECT osm_ref, name, category, desa_kel_kode, desa_kel_nama, kec_kode, kab_kode, in_kota_tangerang,
       ST_Y(geom) AS lat, ST_X(geom) AS lon
FROM poi
WHERE name IS NOT NULL AND name <> ''
ORDER BY osm_ref;
