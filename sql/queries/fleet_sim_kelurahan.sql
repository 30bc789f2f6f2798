SELECT kode, nama, kec_kode, label_lat, label_lon FROM kelurahan ORDER BY kode;
