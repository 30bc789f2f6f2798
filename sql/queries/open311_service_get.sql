-- One active category with its attribute definitions and intake settings.
SELECT kode, nama, atribut, service_notice, perkiraan_hari, duplikat_radius_m, duplikat_hari
FROM layanan WHERE kode = %(kode)s AND aktif;
