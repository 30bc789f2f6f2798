-- The statuses a laporan in status `dari` may move to, in their display order.
SELECT t.ke FROM laporan_transisi t JOIN laporan_status_kode k ON k.kode = t.ke
WHERE t.dari = %(dari)s ORDER BY k.urutan;
