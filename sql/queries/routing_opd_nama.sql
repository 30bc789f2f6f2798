-- OPD names by kode (for explanations).
SELECT kode, nama FROM opd WHERE aktif;
