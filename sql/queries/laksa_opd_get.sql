-- An OPD a laporan can be re-dispatched to.
SELECT kode, nama, jenis, luar_kota, aktif FROM opd WHERE kode = %(kode)s;
