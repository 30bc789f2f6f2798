SELECT kode, nama, kec_nama FROM kelurahan WHERE kode = %(kode)s;
