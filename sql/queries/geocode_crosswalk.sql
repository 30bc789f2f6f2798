-- BPS (2018) spellings of Kemendagri places: aliases for forward geocoding (Kereo = Kreo, Pedurenan = Padurenan).
SELECT level, nama_bps, kode_kemendagri, nama_kemendagri, match
FROM crosswalk_bps
WHERE match <> 'none' AND nama_bps IS NOT NULL
ORDER BY id;
