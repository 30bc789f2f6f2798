-- Whether a kecamatan or kelurahan kode exists in the city.
SELECT EXISTS (SELECT 1 FROM kecamatan WHERE kode = %(kode)s AND %(wilayah)s = 'kecamatan')
    OR EXISTS (SELECT 1 FROM kelurahan WHERE kode = %(kode)s AND %(wilayah)s = 'kelurahan') AS ada;
