-- The flat SYNTHETIC demo laporan, deleted (their history, dispositions and ratings cascade) so the demo can build
-- a realistic history in their place. Only when no laporan in the database is anything but SYNTHETIC: the
-- statement itself re-checks it, so a real report that arrived meanwhile stops it.
DELETE FROM laporan
WHERE deskripsi LIKE 'Contoh (sintetis)%'
  AND NOT EXISTS (SELECT 1 FROM laporan o WHERE o.deskripsi IS NULL OR o.deskripsi NOT LIKE 'Contoh (sintetis)%')
RETURNING id;
