-- How often each rule's decision was overridden by a re-dispatch (a rule often overridden is a rule to fix).
SELECT rule_id, count(*) AS jumlah_disposisi, count(DISTINCT laporan_id) AS laporan
FROM laporan_disposisi WHERE rule_id IS NOT NULL GROUP BY rule_id;
