-- A category's target in working days.
SELECT sla_hari_kerja FROM layanan WHERE kode = %(kode)s;
