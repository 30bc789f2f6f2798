-- The active categories with their attribute definitions and working-day target, for the citizen form.
SELECT kode, nama, deskripsi, grup, atribut, sla_hari_kerja FROM layanan WHERE aktif ORDER BY grup, nama;
