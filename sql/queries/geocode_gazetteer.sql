-- Every named place of Banten and DKI for forward geocoding; label points from the polygons where we have them.
SELECT g.kode, g.level, g.nama, g.jenis, g.kec_kode, g.kec_nama, g.kab_kode, g.kab_nama, g.prov_kode,
       g.kodepos, COALESCE(k.label_lat, t.label_lat, g.lat) AS lat, COALESCE(k.label_lon, t.label_lon, g.lon) AS lon,
       g.in_kota_tangerang
FROM gazetteer AS g
LEFT JOIN kelurahan AS k ON k.kode = g.kode
LEFT JOIN tetangga_desa_kelurahan AS t ON t.kode = g.kode
WHERE g.level <> 'provinsi'
ORDER BY g.kode;
