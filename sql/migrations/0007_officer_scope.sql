-- opd_officer keys: "every OPD" is an explicit choice (semua_opd), never the absence of a binding.
-- Before this revision an officer key without opd_kode acted on every OPD's laporan. Such keys keep
-- semua_opd = false and so act on no laporan until an operator binds them deliberately
-- (`satupeta keys bind NAME --opd KODE` or `--semua-opd`).
ALTER TABLE api_key ADD COLUMN semua_opd boolean NOT NULL DEFAULT false;
ALTER TABLE api_key ADD CONSTRAINT api_key_semua_opd_only_unbound_officer
    CHECK (NOT semua_opd OR (role = 'opd_officer' AND opd_kode IS NULL));
COMMENT ON COLUMN api_key.semua_opd IS
    'opd_officer key chosen to act for every OPD (e.g. the LAKSA desk); false with opd_kode NULL: no OPD';
