-- Which of these stored photo names a committed history entry still refers to (checked before a failed write
-- removes the files it created: the same photo, content-addressed, may belong to another laporan).
SELECT DISTINCT n AS nama
FROM unnest(%(nama)s::text[]) AS n
WHERE EXISTS (SELECT 1 FROM laporan_status s, jsonb_array_elements(s.media) e
              WHERE e->>'url' = '/media/' || n OR e->>'thumb_url' = '/media/' || n);
