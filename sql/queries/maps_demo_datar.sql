-- Is this an old demo database without a realistic history? Every laporan SYNTHETIC ('Contoh (sintetis)'), and
-- all received within one day (topped up through Open311 before the demo built past weeks).
SELECT count(*) AS n,
       count(*) FILTER (WHERE deskripsi IS NULL OR deskripsi NOT LIKE 'Contoh (sintetis)%') AS bukan_demo,
       coalesce(extract(epoch FROM max(requested_at) - min(requested_at)), 0)::float8 AS rentang_s
FROM laporan;
