-- Category names by kode (active categories only: inactive ones go to triage).
SELECT kode, nama FROM layanan WHERE aktif;
