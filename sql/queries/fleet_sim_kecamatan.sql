SELECT kode, nama, label_lat, label_lon FROM kecamatan ORDER BY kode;
