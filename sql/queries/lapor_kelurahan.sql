-- Kelurahan for the citizen form's no-map path: names as in the gazetteer, with the point a laporan placed by
-- kelurahan alone takes (its label point, inside the polygon).
SELECT kode, nama, kec_nama, label_lat, label_lon FROM kelurahan ORDER BY kec_nama, nama;
